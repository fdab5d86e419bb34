package opspage

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/writebackhq/writeback"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var css []byte

// pageNames are the templates of templates/, each a page that defines
// "content" inside layout.html.
var pageNames = []string{"overview", "operations", "operation", "installations", "installation", "error"}

// pages holds the parsed page templates.
type pages struct {
	byName map[string]*template.Template
}

// parsePages parses the embedded templates.
func parsePages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("opspage: parse layout: %w", err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("opspage: parse %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// page is what every template receives.
type page struct {
	// Title is the app's title (Options.Title); Heading the page's.
	Title, Heading string
	// Nav names the navigation entry of the page.
	Nav string
	// Root is the relative path back to the page's mount point, such as
	// "./" or "../", ending in a slash.
	Root string
	// Now is when the page was made.
	Now time.Time
	// Data is the page's own data.
	Data any
}

// render writes the page name with data and status code.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, name, heading string, data any) {
	p := page{Title: h.opts.Title, Heading: heading, Nav: name, Root: rootOf(r.URL.Path), Now: time.Now(), Data: data}
	if v, ok := data.(interface{ now() time.Time }); ok {
		p.Now = v.now()
	}
	var buf bytes.Buffer
	if err := h.pages.byName[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		h.log.Error("writeback ops page: render failed", "page", name, "err", err)
		http.Error(w, "the ops page failed to render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// rootOf returns the relative path from a page's path back to the mount
// point: "./" for "/" and "/operations", "../" for "/operations/ID".
func rootOf(path string) string {
	n := strings.Count(strings.TrimPrefix(path, "/"), "/")
	if n == 0 {
		return "./"
	}
	return strings.Repeat("../", n)
}

// serveCSS serves the embedded style sheet.
func serveCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(css)
}

// funcs are the templates' functions.
var funcs = template.FuncMap{
	"ago":        ago,
	"clock":      clock,
	"clip":       clip,
	"stamp":      stamp,
	"dur":        dur,
	"pathEscape": url.PathEscape,
	"percent":    percent,
	"toJSON":     toJSON,
	"add":        func(a, b int) int { return a + b },
	"deref":      func(b *bool) bool { return b != nil && *b },
	"statusOf":   statusOf,
	"resultOf":   resultOf,
	"defaultOf":  defaultOf,
	"fieldErrors": func(e *writeback.ProviderError) []string {
		if e == nil {
			return nil
		}
		if len(e.FieldErrors) == 0 {
			return e.Fields
		}
		out := make([]string, len(e.FieldErrors))
		for i, f := range e.FieldErrors {
			out[i] = f.String()
		}
		return out
	},
}

// ago says how long before now t was, or how long after: "3m 12s ago",
// "in 40s". A zero t is "".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d > -time.Second && d < time.Second:
		return "now"
	case d < 0:
		return "in " + span(-d)
	default:
		return span(d) + " ago"
	}
}

// span formats a duration coarsely for people: 2d 4h, 3h 12m, 4m 2s, 12s.
func span(d time.Duration) string {
	d = d.Round(time.Second)
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	mins, secs := int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm %ds", mins, secs)
	default:
		return fmt.Sprintf("%ds", secs)
	}
}

// clock formats a time in UTC for a list: the time of day on now's day,
// the day and minute before.
func clock(now, t time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04:05")
	}
	return t.Format("Jan 02 15:04")
}

// clip shortens s to about n characters, ending with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}

// stamp formats a time in UTC to the second; zero is "".
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// dur formats a wait or a call's length: 1.2s, 340ms; zero is "".
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return span(d)
	}
}

// percent returns a of b in percent, 0 when b is.
func percent(a, b int) int {
	if b <= 0 {
		return 0
	}
	return min(100, a*100/b)
}

// toJSON formats v as indented JSON for people.
func toJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// statusOf names the CSS class of an operation status.
func statusOf(s writeback.OperationStatus) string {
	switch s {
	case writeback.OperationSuccess:
		return "ok"
	case writeback.OperationFailure:
		return "bad"
	case writeback.OperationCanceled:
		return "off"
	default:
		return "busy"
	}
}

// resultOf says what became of one record.
func resultOf(r writeback.RecordResult) string {
	switch {
	case r.Err != nil && r.Err.Class == writeback.ClassCanceled:
		return "canceled"
	case r.Err != nil:
		return "failed"
	case r.AlreadyDeleted:
		return "already deleted"
	default:
		return "written"
	}
}

// defaultOf formats a field's default value, "" for none.
func defaultOf(d *writeback.DefaultValue) string {
	switch {
	case d == nil:
		return ""
	case d.StringValue != nil:
		return fmt.Sprintf("%q", *d.StringValue)
	case d.IntegerValue != nil:
		return fmt.Sprint(*d.IntegerValue)
	case d.BooleanValue != nil:
		return fmt.Sprint(*d.BooleanValue)
	case d.NumberValue != nil:
		return fmt.Sprint(*d.NumberValue)
	}
	return ""
}

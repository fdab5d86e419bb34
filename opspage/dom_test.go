package opspage_test

import (
	"html"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// element is one element of a serialized document.
type element struct {
	name  string
	attrs map[string]string
}

// dom is a serialized document, as html/template writes it or Chromium's
// --dump-dom prints it, read into its elements and its text.
type dom struct {
	elements []element
	// text is the document's text, unescaped, with a space at every tag
	// and runs of white space collapsed.
	text string
}

// parseDOM reads a serialized document. It is no full HTML parser: it
// relies on what both serializers guarantee, that text and attribute
// values never hold a raw '<' or an unescaped quote, and fails the test
// on anything else.
func parseDOM(t *testing.T, s string) dom {
	t.Helper()
	var d dom
	var text strings.Builder
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			text.WriteString(html.UnescapeString(s))
			break
		}
		text.WriteString(html.UnescapeString(s[:lt]))
		text.WriteByte(' ')
		s = s[lt:]
		switch {
		case strings.HasPrefix(s, "<!--"):
			end := strings.Index(s, "-->")
			require.GreaterOrEqual(t, end, 0, "unterminated comment")
			s = s[end+3:]
			continue
		case strings.HasPrefix(s, "<!"), strings.HasPrefix(s, "</"):
			end := strings.IndexByte(s, '>')
			require.GreaterOrEqual(t, end, 0, "unterminated tag")
			s = s[end+1:]
			continue
		}
		el, rest := parseTag(t, s[1:])
		d.elements = append(d.elements, el)
		s = rest
		if el.name == "script" || el.name == "style" {
			end := strings.Index(s, "</"+el.name)
			require.GreaterOrEqual(t, end, 0, "unterminated %s", el.name)
			s = s[end:]
		}
	}
	d.text = strings.Join(strings.Fields(text.String()), " ")
	return d
}

// parseTag reads a start tag after its '<' and returns the element and
// what follows the tag.
func parseTag(t *testing.T, s string) (element, string) {
	t.Helper()
	el := element{attrs: map[string]string{}}
	n := strings.IndexAny(s, " \t\n\r/>")
	require.Greater(t, n, 0, "bad tag at %.40q", s)
	el.name = strings.ToLower(s[:n])
	s = s[n:]
	for {
		s = strings.TrimLeft(s, " \t\n\r/")
		require.NotEmpty(t, s, "unterminated <%s>", el.name)
		if s[0] == '>' {
			return el, s[1:]
		}
		n := strings.IndexAny(s, " \t\n\r=/>")
		require.Greater(t, n, 0, "bad attribute in <%s> at %.40q", el.name, s)
		name := strings.ToLower(s[:n])
		s = s[n:]
		val := ""
		if s[0] == '=' {
			s = s[1:]
			if q := s[0]; q == '"' || q == '\'' {
				end := strings.IndexByte(s[1:], q)
				require.GreaterOrEqual(t, end, 0, "unterminated value of %s in <%s>", name, el.name)
				val, s = s[1:1+end], s[end+2:]
			} else {
				end := strings.IndexAny(s, " \t\n\r>")
				require.Greater(t, end, 0, "bad value of %s in <%s>", name, el.name)
				val, s = s[:end], s[end:]
			}
		}
		el.attrs[name] = html.UnescapeString(val)
	}
}

// count returns the number of elements named name.
func (d dom) count(name string) int {
	n := 0
	for _, el := range d.elements {
		if el.name == name {
			n++
		}
	}
	return n
}

// requireInert checks that the document has no script, no image, no
// frame, no object and no event handler attribute: nothing a hostile
// value could have added runs.
func (d dom) requireInert(t *testing.T, where string) {
	t.Helper()
	for _, el := range d.elements {
		switch el.name {
		case "script", "img", "iframe", "object", "embed", "svg", "base", "meta":
			if el.name == "meta" && (el.attrs["charset"] != "" || el.attrs["name"] == "viewport") {
				continue
			}
			t.Fatalf("%s: injected <%s %v>", where, el.name, el.attrs)
		}
		for name, v := range el.attrs {
			require.False(t, strings.HasPrefix(name, "on"), "%s: event handler %s=%q on <%s>", where, name, v, el.name)
			if name == "href" || name == "action" || name == "src" {
				require.False(t, strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "javascript:"), "%s: %s=%q", where, name, v)
			}
		}
	}
}

func TestParseDOM(t *testing.T) {
	t.Parallel()
	d := parseDOM(t, `<!DOCTYPE html><html><head><title>a &lt;b&gt;</title><style>p{}</style></head>`+
		`<body><p class="x" title="&quot;&gt;&lt;img src=x&gt;" hidden>one<br/>two &amp; three</p><!-- <img> --></body></html>`)
	require.Equal(t, 0, d.count("img"), "an image in an attribute value or a comment is no element")
	require.Equal(t, 1, d.count("p"))
	require.Equal(t, "a <b> one two & three", d.text)
	require.Equal(t, `"><img src=x>`, d.elements[5].attrs["title"])
	d = parseDOM(t, `<p>x</p><img src=x onerror=alert(1)>`)
	require.Equal(t, 1, d.count("img"))
	require.Equal(t, "alert(1)", d.elements[1].attrs["onerror"])
}

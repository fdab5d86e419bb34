//go:build linux

package opspage_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/opspage"
)

// The browser tests load the pages in headless Chromium (Debian package
// chromium). Without it they are skipped, or fail when
// WRITEBACK_REQUIRE_CHROMIUM=1 (as in .ci/run). WRITEBACK_SCREENSHOTS=dir
// keeps their screenshots in dir (docs/ holds the README's).

// chromium returns the browser's path, or skips the test without one.
func chromium(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err == nil {
		return bin
	}
	if os.Getenv("WRITEBACK_REQUIRE_CHROMIUM") == "1" {
		t.Fatalf("chromium is required (WRITEBACK_REQUIRE_CHROMIUM=1) but not on PATH: apt-get install chromium")
	}
	t.Skip("chromium not on PATH (apt-get install chromium); WRITEBACK_REQUIRE_CHROMIUM=1 fails instead")
	return ""
}

// browser is one headless Chromium, driven over the DevTools protocol on
// a pipe (--remote-debugging-pipe): one browser start for every page, a
// page load being far cheaper than a start.
type browser struct {
	cmd *exec.Cmd
	// dir holds its profile and HOME.
	dir string
	// in is what it reads (its fd 3), out what it writes (its fd 4).
	in      *os.File
	out     *os.File
	r       *bufio.Reader
	stderr  lockedBuffer
	id      int
	session string
	// events holds the events read while waiting for an answer.
	events []string
}

// startBrowser starts Chromium in a fresh profile and HOME, with one page
// of 1280×900, and stops it when the test ends, leaving no process behind.
func startBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	b := &browser{dir: t.TempDir()}
	toChrome, in, err := os.Pipe()
	require.NoError(t, err)
	out, fromChrome, err := os.Pipe()
	require.NoError(t, err)
	b.in, b.out, b.r = in, out, bufio.NewReader(out)
	b.cmd = exec.Command(bin,
		"--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--disable-extensions", "--hide-scrollbars", "--mute-audio", "--user-data-dir="+filepath.Join(b.dir, "profile"),
		"about:blank")
	b.cmd.Env = append(os.Environ(), "HOME="+b.dir, "XDG_CONFIG_HOME="+filepath.Join(b.dir, "config"), "XDG_CACHE_HOME="+filepath.Join(b.dir, "cache"))
	b.cmd.ExtraFiles = []*os.File{toChrome, fromChrome}
	b.cmd.Stderr = &b.stderr
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, b.cmd.Start())
	toChrome.Close()
	fromChrome.Close()
	t.Cleanup(func() { b.stop(t) })

	var target struct{ TargetID string }
	require.NoError(t, b.call("Target.createTarget", map[string]any{"url": "about:blank"}, &target), b.logs())
	var attached struct{ SessionID string }
	require.NoError(t, b.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached))
	b.session = attached.SessionID
	require.NoError(t, b.call("Page.enable", nil, nil))
	require.NoError(t, b.call("Emulation.setDeviceMetricsOverride",
		map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil))
	return b
}

// stop closes the browser, kills its process group and any process still
// naming its profile (the crash handler starts a session of its own), and
// waits until none is left running.
func (b *browser) stop(t *testing.T) {
	_ = b.call("Browser.close", nil, nil)
	b.in.Close()
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	b.out.Close()
	require.NoError(t, reap(b.dir))
}

// logs returns the end of the browser's stderr.
func (b *browser) logs() string {
	lines := strings.Split(strings.TrimSpace(b.stderr.String()), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// lockedBuffer is a buffer the browser's stderr is copied into while the
// test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// message is a DevTools protocol message: an answer or an event.
type message struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// call sends a command (on the page's session once attached) and decodes
// its result into result, if not nil.
func (b *browser) call(method string, params, result any) error {
	b.id++
	req := map[string]any{"id": b.id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if b.session != "" && !strings.HasPrefix(method, "Target.") && method != "Browser.close" {
		req["sessionId"] = b.session
	}
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := b.in.Write(append(data, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	for {
		m, err := b.read()
		if err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		switch {
		case m.ID == 0:
			b.events = append(b.events, m.Method)
		case m.ID != b.id:
		case m.Error != nil:
			return fmt.Errorf("%s: %s", method, m.Error.Message)
		case result != nil:
			return json.Unmarshal(m.Result, result)
		default:
			return nil
		}
	}
}

// read reads one message, waiting at most 30 seconds.
func (b *browser) read() (message, error) {
	var m message
	if err := b.out.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return m, err
	}
	data, err := b.r.ReadBytes(0)
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(data[:len(data)-1], &m)
}

// load opens url and returns the document's HTML once it has loaded.
func (b *browser) load(url string) (string, error) {
	b.events = nil
	var nav struct{ ErrorText string }
	if err := b.call("Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return "", err
	}
	if nav.ErrorText != "" {
		return "", fmt.Errorf("load %s: %s", url, nav.ErrorText)
	}
	for !slices.Contains(b.events, "Page.loadEventFired") {
		m, err := b.read()
		if err != nil {
			return "", fmt.Errorf("load %s: %w", url, err)
		}
		b.events = append(b.events, m.Method)
	}
	var doc struct{ Root struct{ NodeID int } }
	if err := b.call("DOM.getDocument", map[string]any{"depth": 0}, &doc); err != nil {
		return "", err
	}
	var html struct{ OuterHTML string }
	err := b.call("DOM.getOuterHTML", map[string]any{"nodeId": doc.Root.NodeID}, &html)
	return html.OuterHTML, err
}

// count returns how many elements of the loaded document match a CSS
// selector, as the browser's DOM has them.
func (b *browser) count(selector string) (int, error) {
	var doc struct{ Root struct{ NodeID int } }
	if err := b.call("DOM.getDocument", map[string]any{"depth": 0}, &doc); err != nil {
		return 0, err
	}
	var found struct{ NodeIDs []int }
	err := b.call("DOM.querySelectorAll", map[string]any{"nodeId": doc.Root.NodeID, "selector": selector}, &found)
	return len(found.NodeIDs), err
}

// screenshot saves the whole loaded page, 1280 pixels wide, as a PNG.
func (b *browser) screenshot(path string) error {
	var metrics struct {
		CSSContentSize struct{ Height float64 }
	}
	if err := b.call("Page.getLayoutMetrics", nil, &metrics); err != nil {
		return err
	}
	clip := map[string]any{"x": 0, "y": 0, "width": 1280, "height": max(900, metrics.CSSContentSize.Height), "scale": 1}
	var shot struct{ Data []byte }
	if err := b.call("Page.captureScreenshot", map[string]any{"format": "png", "clip": clip, "captureBeyondViewport": true}, &shot); err != nil {
		return err
	}
	return os.WriteFile(path, shot.Data, 0o644)
}

// reap kills the processes whose command line names dir and waits until
// none is left running.
func reap(dir string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := processesNaming(dir)
		if len(left) == 0 {
			return nil
		}
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chromium processes %v outlive their test", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processesNaming lists the live (not zombie) processes whose command line
// contains s.
func processesNaming(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(s)) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The state follows the command's closing parenthesis.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// browserPage is a page to load, what its DOM must hold, and the name of
// its screenshot, if one is taken.
type browserPage struct {
	name, url string
	want      []string
	absent    []string
	shot      string
	check     func(t *testing.T, d dom)
}

// TestBrowser loads every kind of page in headless Chromium from a store
// with operations of every status, and checks the DOM the browser built:
// the content, the action forms, that a hostile string from a provider,
// a record or an installation stays text, and that the style sheet
// applies (a screenshot's header is dark).
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	t.Parallel()
	s := seed(t, &opspage.Options{Actions: true})
	hs := seedHostile(t, nil)
	shots := os.Getenv("WRITEBACK_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}

	checks := map[string]pageCheck{}
	for _, pc := range pageChecks(s) {
		checks[pc.name] = pc
	}
	var pages []browserPage
	for _, name := range []string{"overview", "operations", "partial", "retrying", "group", "installations", "installation"} {
		pc := checks[name]
		pages = append(pages, browserPage{name: name, url: s.url + pc.path, want: pc.want, absent: pc.absent})
	}
	pages[0].shot = "opspage-queue.png"
	pages[1].shot = "opspage-operations.png"
	pages[2].shot = "opspage-operation.png"
	pages[2].check = func(t *testing.T, d dom) {
		forms := formsOf(d)
		require.Len(t, forms, 1, "a finished operation with unwritten records can be retried, not canceled")
		require.True(t, strings.HasSuffix(forms[0].attrs["action"], "operations/"+s.partial+"/retry"), forms[0].attrs["action"])
		require.Equal(t, "post", strings.ToLower(forms[0].attrs["method"]))
	}
	pages[3].check = func(t *testing.T, d dom) {
		forms := formsOf(d)
		require.Len(t, forms, 1, "a queued operation can be canceled")
		require.True(t, strings.HasSuffix(forms[0].attrs["action"], "/cancel"))
		token := ""
		for _, el := range d.elements {
			if el.name == "input" && el.attrs["name"] == "token" {
				token = el.attrs["value"]
			}
		}
		require.Len(t, token, 43, "the form carries its token")
	}
	pages[6].shot = "opspage-installation.png"

	for _, p := range []struct{ name, path string }{
		{"hostile overview", ""},
		{"hostile list", "operations?groupRef=" + url.QueryEscape(hostile)},
		{"hostile failure", "operations/" + hs.failure},
		{"hostile success", "operations/" + hs.success},
		{"hostile installation", "installations/" + hs.inst},
		{"hostile path", "operations/" + url.PathEscape(hostile)},
	} {
		bp := browserPage{name: p.name, url: hs.url + p.path, want: []string{hostile}}
		if p.name == "hostile path" {
			bp.want = []string{"Not found", hostile}
		}
		pages = append(pages, bp)
	}

	b := startBrowser(t, bin)
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			html, err := b.load(p.url)
			require.NoError(t, err, b.logs())
			d := parseDOM(t, html)
			d.requireInert(t, p.name)
			injected, err := b.count("script, img, iframe, object, embed, svg, [onerror], [onload], [onclick], [onmouseover]")
			require.NoError(t, err)
			require.Zero(t, injected, "elements a hostile value could add")
			for _, want := range p.want {
				require.Contains(t, d.text, want)
			}
			for _, absent := range p.absent {
				require.NotContains(t, d.text, absent)
			}
			if p.check != nil {
				p.check(t, d)
			}
			if p.shot != "" {
				path := filepath.Join(shots, p.shot)
				require.NoError(t, b.screenshot(path))
				requireStyled(t, path)
			}
		})
	}
}

// formsOf returns the forms of d other than the operations list's
// filters.
func formsOf(d dom) []element {
	var out []element
	for _, el := range d.elements {
		if el.name == "form" && el.attrs["class"] != "filters" {
			out = append(out, el)
		}
	}
	return out
}

// requireStyled checks a screenshot: 1280 pixels wide, at least 900
// high, the page's dark header across its top (the style sheet loaded
// under the page's Content-Security-Policy) and a light body below.
func requireStyled(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	size := img.Bounds().Size()
	require.Equal(t, 1280, size.X)
	require.GreaterOrEqual(t, size.Y, 900)
	header := color.RGBAModel.Convert(img.At(640, 4)).(color.RGBA)
	require.Equal(t, color.RGBA{0x1d, 0x23, 0x30, 0xff}, header, "the header's background")
	body := color.RGBAModel.Convert(img.At(4, size.Y-4)).(color.RGBA)
	require.Equal(t, color.RGBA{0xf6, 0xf7, 0xf9, 0xff}, body, "the page's background")
}

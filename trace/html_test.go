package trace

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// htmlOf writes the HTML report of a capture.
func htmlOf(t *testing.T, pcap []byte) []byte {
	t.Helper()
	capt, err := OpenCapture(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	sink := NewHTMLSink(&buf)
	sum, err := New(sink, Options{}).Run(capt)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Summary(sum); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// htmlCapture is a keep-alive exchange with a deviation planted (a RST
// answered with a RST), so the report shows both kinds of line.
func htmlCapture(t *testing.T) []byte {
	segs := record(t, scenarios()[6])
	for _, co := range corruptions {
		if co.kind != "rst-answers-rst" {
			continue
		}
		for i := range segs {
			if out, _, ok := co.apply(segs, i); ok {
				return encodePcap(t, out)
			}
		}
	}
	t.Fatal("no place for the corruption")
	return nil
}

// TestHTMLSelfContained: the page fetches nothing (no src or href to
// another host, no url() to one), and nothing from the capture becomes
// markup: a hostile address or reason is data inside the JSON.
func TestHTMLSelfContained(t *testing.T) {
	page := htmlOf(t, htmlCapture(t))
	fetch := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?\s*(https?:)?//|@import`)
	if m := fetch.Find(page); m != nil {
		t.Errorf("the page fetches from the network: %q", m)
	}
	if n := bytes.Count(page, []byte("<script")); n != 2 {
		t.Errorf("%d script elements, want 2 (the data and the code)", n)
	}
}

// TestHTMLRenders loads the page in headless Chromium (Debian's package;
// CI installs it) and requires the script to finish without an error.
func TestHTMLRenders(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("needs chromium (apt-get install chromium): the HTML report is checked by loading it")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "trace.html")
	if err := os.WriteFile(path, htmlOf(t, htmlCapture(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+dir,
		"--virtual-time-budget=5000", "--dump-dom", "file://"+path)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errOut.String())
	}
	dom := out.String()
	body := regexp.MustCompile(`<body[^>]*>`).FindString(dom)
	if strings.Contains(body, "data-errors") {
		t.Fatalf("script errors: %s", body)
	}
	if !strings.Contains(body, `data-rendered="ok"`) {
		t.Fatalf("the page did not finish rendering: %s\n%s", body, errOut.String())
	}
	for _, want := range []string{"Connection 1:", "RST answered with RST", "hl-a", "rst: "} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
}

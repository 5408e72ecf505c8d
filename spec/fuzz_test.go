package spec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics and that it returns either a
// machine or a non-empty, sorted ErrorList whose entries point into the input.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yaml")
	for _, path := range append([]string{"tcp.yaml"}, seeds...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", data)
		if (m == nil) == (err == nil) {
			t.Fatalf("Parse returned machine %v and error %v; want exactly one", m != nil, err)
		}
		if err == nil {
			return
		}
		var errs ErrorList
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("Parse returned %T %v; want a non-empty ErrorList", err, err)
		}
		checkSorted(t, errs)
		lines := lineBreaks(data) + 1
		for _, e := range errs {
			if e.Pos.File != "fuzz.yaml" || e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Col < 1 || e.Msg == "" {
				t.Errorf("error %q is not positioned inside the input (%d lines)", e, lines)
			}
		}
	})
}

// lineBreaks counts the characters YAML may treat as line breaks: an upper
// bound on the number of lines less one (CR LF counts twice).
func lineBreaks(data []byte) int {
	n := 0
	for _, b := range [][]byte{[]byte("\n"), []byte("\r"), []byte("\u0085"), []byte("\u2028"), []byte("\u2029")} {
		n += bytes.Count(data, b)
	}
	return n
}

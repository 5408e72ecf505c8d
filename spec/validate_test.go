package spec

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// want is one expected error, from a "# want: LINE:COL: message" line at the
// top of a file in testdata/bad; message is a substring of the error's.
type want struct {
	line, col int
	msg       string
}

var wantLine = regexp.MustCompile(`^# want: (\d+):(\d+): (.+)$`)

func readWants(t *testing.T, data []byte) []want {
	t.Helper()
	var wants []want
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(l, "# want:") {
			break
		}
		m := wantLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("malformed want line %q (want \"# want: LINE:COL: message\")", l)
		}
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		wants = append(wants, want{line, col, m[3]})
	}
	if len(wants) == 0 {
		t.Fatal(`no "# want: LINE:COL: message" line at the top of the file`)
	}
	return wants
}

// TestBadSpecs parses every file in testdata/bad and checks that the errors
// are exactly the ones its want lines list, at those positions.
func TestBadSpecs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad specs found: %v", err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			wants := readWants(t, data)
			m, err := Parse(name, data)
			if err == nil {
				t.Fatalf("Parse accepted the spec (machine %q); want %d error(s)", m.Name, len(wants))
			}
			var errs ErrorList
			if !errors.As(err, &errs) {
				t.Fatalf("Parse returned %T %v, want an ErrorList", err, err)
			}
			checkSorted(t, errs)
			matchWants(t, name, errs, wants)
		})
	}
}

// matchWants pairs each want with a distinct error at its position whose
// message contains the want's, and fails on wants or errors left unpaired.
func matchWants(t *testing.T, file string, errs ErrorList, wants []want) {
	t.Helper()
	used := make([]bool, len(errs))
	for _, w := range wants {
		found := false
		for i, e := range errs {
			if !used[i] && e.Pos == (Pos{file, w.line, w.col}) && strings.Contains(e.Msg, w.msg) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing error %s:%d:%d: ...%s...", file, w.line, w.col, w.msg)
		}
	}
	for i, e := range errs {
		if !used[i] {
			t.Errorf("unexpected error %v", e)
		}
	}
	if t.Failed() {
		t.Logf("all errors:\n%v", errs)
	}
}

func checkSorted(t *testing.T, errs ErrorList) {
	t.Helper()
	for i := 1; i < len(errs); i++ {
		a, b := errs[i-1].Pos, errs[i].Pos
		if a.Line > b.Line || a.Line == b.Line && a.Col > b.Col {
			t.Errorf("errors not sorted: %v before %v", errs[i-1], errs[i])
		}
	}
}

// TestGoodSpecs checks that the real spec and the good test specs parse and
// validate with no errors.
func TestGoodSpecs(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good specs found: %v", err)
	}
	for _, path := range append([]string{"tcp.yaml"}, files...) {
		t.Run(path, func(t *testing.T) {
			m, err := Load(path)
			if err != nil {
				t.Fatalf("Load(%s):\n%v", path, err)
			}
			if m.Name == "" || len(m.States) == 0 || len(m.Rules) == 0 {
				t.Errorf("Load(%s) returned an empty machine: %+v", path, m)
			}
		})
	}
}

// TestValidateBuiltMachine checks Validate on a Machine built in code, where
// initial and final were never checked by Decode and positions may be missing.
func TestValidateBuiltMachine(t *testing.T) {
	at := Pos{"built", 1, 1}
	m := &Machine{
		Initial: "START", Final: "END", Pos: at,
		States: []State{{Name: "A", Pos: Pos{"built", 2, 1}}},
		Events: []Event{{Name: "go", Kind: UserEvent, Pos: Pos{"built", 3, 1}}},
		Rules:  []Rule{{ID: "a_go", From: []string{"A"}, FromPos: []Pos{{"built", 4, 1}}, On: []string{"go"}, OnPos: []Pos{{"built", 4, 9}}, Do: []string{"fly"}, Same: true, Pos: Pos{"built", 4, 1}}},
	}
	matchWants(t, "built", Validate(m), []want{
		{1, 1, `initial state "START" is not a declared state`},
		{1, 1, `final state "END" is not a declared state`},
		{4, 1, `rule a_go: unknown action "fly"`}, // no DoPos: at the rule
	})
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		declared []string
		want     string
	}{
		{"send_ak", []string{"send_syn", "send_ack"}, "send_ack"},
		{"closed", []string{"LISTEN", "CLOSED"}, "CLOSED"},  // case is ignored
		{"abcde", []string{"abcxy", "abxyz"}, "abcxy"},      // distance 2 is close
		{"abcde", []string{"axyze"}, ""},                    // distance 3 is not
		{"ab", []string{"ax", "ay"}, "ax"},                  // ties go to the first
		{"flush_queue", []string{"send_ack", "accept"}, ""}, // nothing close
		{"x", nil, ""},
	} {
		got := suggest(tc.name, tc.declared)
		if tc.want == "" && got != "" || tc.want != "" && got != ` (did you mean "`+tc.want+`"?)` {
			t.Errorf("suggest(%q, %q) = %q, want %q", tc.name, tc.declared, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"abc", "abc", 0},
		{"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"send_ak", "send_ack", 1},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

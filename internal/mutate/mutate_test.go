package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestGoMutants(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "m")
	os.Mkdir(dir, 0o755)
	src := `package m

func g() {}

func f(a, b uint32) bool {
	if a < b {
		g()
	}
	x := a + 1
	x = SeqLT(x, b)
	return a == b && x != 0
}

func SeqLT(a, b uint32) uint32 { return a - b }

func (T) String() string { return "x" + "y" }

type T struct{}
`
	os.WriteFile(filepath.Join(dir, "f.go"), []byte(src), 0o644)
	os.WriteFile(filepath.Join(dir, "f_test.go"), []byte("package m\nfunc h() { if true {} }\n"), 0o644)
	ms, err := goMutants(root, "m")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID+" "+m.Desc)
		if len(m.Files) != 1 {
			t.Fatalf("%s replaces %d files", m.ID, len(m.Files))
		}
		for _, b := range m.Files {
			if string(b) == src || !strings.HasPrefix(string(b), "package m") {
				t.Errorf("%s: the mutated file is unchanged or broken:\n%s", m.ID, b)
			}
		}
	}
	sort.Strings(ids)
	for _, want := range []string{
		"m/f.go:f:cmp#1 < -> <=",
		"m/f.go:f:cond#1 negate a < b",
		"m/f.go:f:del#2 delete g()",
		"m/f.go:f:arith#1 + -> -",
		"m/f.go:f:const#1 1 -> 2",
		"m/f.go:f:const#2 1 -> 0",
		"m/f.go:f:del#1 delete x = SeqLT(x, b)",
		"m/f.go:f:seq#1 SeqLT -> SeqLEQ",
		"m/f.go:f:cond#2 && -> ||",
		"m/f.go:f:cmp#2 == -> !=",
		"m/f.go:SeqLT:arith#1 - -> +",
	} {
		found := false
		for _, id := range ids {
			found = found || id == want
		}
		if !found {
			t.Errorf("no mutant %q in:\n%s", want, strings.Join(ids, "\n"))
		}
	}
	for _, id := range ids {
		if strings.Contains(id, "String") || strings.Contains(id, "_test") || strings.Contains(id, "x := ") {
			t.Errorf("mutant %q: String methods, tests and declarations are left alone", id)
		}
	}
}

func TestReadSurvivors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.txt")
	os.WriteFile(path, []byte("# comment\n\nmachine/a.go:f:cmp#1 equivalent: both bounds hold\n"), 0o644)
	got, err := readSurvivors(path)
	if err != nil || got["machine/a.go:f:cmp#1"] != "equivalent: both bounds hold" || len(got) != 1 {
		t.Fatalf("readSurvivors = %v, %v", got, err)
	}
	os.WriteFile(path, []byte("machine/a.go:f:cmp#1\n"), 0o644)
	if _, err := readSurvivors(path); err == nil || !strings.Contains(err.Error(), "no reason") {
		t.Fatalf("a survivor without a reason: %v", err)
	}
	if got, err := readSurvivors(filepath.Join(t.TempDir(), "none")); err != nil || len(got) != 0 {
		t.Fatalf("a missing file: %v, %v", got, err)
	}
}

// TestPlantedApply checks that every planted bug still applies to the
// tree, exactly once per edit, so the table cannot drift from the code
// unnoticed (running them all is the slow part: go run ./internal/mutate -planted).
func TestPlantedApply(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range plantedBugs {
		if seen[p.name] {
			t.Errorf("planted bug %s twice", p.name)
		}
		seen[p.name] = true
		if _, err := plantedMutant(root, p); err != nil {
			t.Error(err)
		}
	}
	for inv := 1; inv <= 30; inv++ {
		found := inv == 2 || inv == 8 || inv == 18 // 2 is how runs are built; 8 and 18 are proptest/mutate's
		for _, p := range plantedBugs {
			found = found || p.invariant == inv
		}
		if !found {
			t.Errorf("invariant %d has no planted bug", inv)
		}
	}
}

func TestSpecMutants(t *testing.T) {
	root, _ := filepath.Abs("../..")
	ms, err := specMutants(root, specFile, machineDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 50 {
		t.Fatalf("%d spec mutants, want one per action and target of the spec's rules", len(ms))
	}
	for _, m := range ms {
		if len(m.Files) != 3 {
			t.Fatalf("%s replaces %d files, want machine_gen.go, stateless_gen.go and dispatch_conn_gen.go", m.ID, len(m.Files))
		}
	}
}

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tcpfsm/tcpfsm/spec"
)

// Where the specs live, relative to the module root: defaultSpec is the one
// the commands that read one spec (check's rule names, diagram) default to;
// specGlob finds every spec for those that read them all (validate, gen).
const (
	defaultSpec = "spec/tcp.yaml"
	specGlob    = "spec/*.yaml"
)

// findDefaultSpec returns defaultSpec if it exists relative to the current
// directory, else the module root's copy if there is one (as a path relative
// to the current directory), else defaultSpec (so the error names it).
func findDefaultSpec() string {
	if _, err := os.Stat(defaultSpec); err == nil {
		return defaultSpec
	}
	wd, err := os.Getwd()
	if err != nil {
		return defaultSpec
	}
	root, ok := moduleRoot(wd)
	if !ok {
		return defaultSpec
	}
	p := filepath.Join(root, filepath.FromSlash(defaultSpec))
	if _, err := os.Stat(p); err != nil {
		return defaultSpec
	}
	return relToWD(wd, p)
}

// findSpecs returns every spec of the module (specGlob under the module
// root), sorted, as paths relative to the current directory; the default
// spec alone if there is no module.
func findSpecs() []string {
	wd, err := os.Getwd()
	if err != nil {
		return []string{defaultSpec}
	}
	root, ok := moduleRoot(wd)
	if !ok {
		return []string{findDefaultSpec()}
	}
	matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(specGlob)))
	if err != nil || len(matches) == 0 {
		return []string{findDefaultSpec()}
	}
	sort.Strings(matches)
	for i, p := range matches {
		matches[i] = relToWD(wd, p)
	}
	return matches
}

func relToWD(wd, p string) string {
	if rel, err := filepath.Rel(wd, p); err == nil {
		return rel
	}
	return p
}

// loadSpecs loads and validates every spec, reporting all problems of all
// of them, then checks that no two generate the same Go names: two specs
// in one package need different prefixes. It returns nil and exit code 1
// if anything failed.
func loadSpecs(cmd string, paths []string, stderr io.Writer) ([]*spec.Machine, int) {
	specs := make([]*spec.Machine, 0, len(paths))
	failed := false
	for _, p := range paths {
		m, _ := loadSpec(cmd, p, stderr)
		failed = failed || m == nil
		specs = append(specs, m)
	}
	if failed {
		return nil, 1
	}
	if err := checkDistinct(paths, specs); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return nil, 1
	}
	return specs, 0
}

// checkDistinct reports two specs that would collide: the same machine name
// (their docs/<machine>.* files) or, with the Go key, the same package and
// prefix (their Go names and files).
func checkDistinct(paths []string, specs []*spec.Machine) error {
	byName := map[string]int{}
	byTarget := map[spec.GoTarget]int{}
	for i, m := range specs {
		if j, dup := byName[m.Name]; dup {
			return fmt.Errorf("%s and %s both name machine %q: their diagrams would overwrite each other", paths[j], paths[i], m.Name)
		}
		byName[m.Name] = i
		if m.Go.Package == "" {
			continue
		}
		key := spec.GoTarget{Package: m.Go.Package, Prefix: m.Go.Prefix}
		if j, dup := byTarget[key]; dup {
			return fmt.Errorf("%s and %s both generate into package %s with prefix %q: give one a different go.prefix", paths[j], paths[i], m.Go.Package, m.Go.Prefix)
		}
		byTarget[key] = i
	}
	return nil
}

// moduleRoot walks up from dir to the nearest directory holding go.mod.
func moduleRoot(dir string) (string, bool) {
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !fi.IsDir() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// modulePath reads the module path from root/go.mod.
func modulePath(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("read module path: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s has no module line", filepath.Join(root, "go.mod"))
}

// packageDir is the directory, relative to the current one, that holds the
// Go package a spec generates into: its import path below the module's.
func packageDir(m *spec.Machine, specPath string) (string, error) {
	if m.Go.Package == "" {
		return "", fmt.Errorf("%s names no Go package: add go: {package: import/path} or give -out", specPath)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, ok := moduleRoot(wd)
	if !ok {
		return "", fmt.Errorf("%s: no go.mod above %s to place package %s: give -out", specPath, wd, m.Go.Package)
	}
	mod, err := modulePath(root)
	if err != nil {
		return "", err
	}
	rel, ok := strings.CutPrefix(m.Go.Package, mod+"/")
	if !ok {
		return "", fmt.Errorf("%s: package %s is not in module %s: give -out", specPath, m.Go.Package, mod)
	}
	return relToWD(wd, filepath.Join(root, filepath.FromSlash(rel))), nil
}

// specName names a spec in generated-file headers: its path relative to the
// module root, slash-separated ("spec/tcp.yaml" whether tcpfsm runs from the
// root or from machine/ under go generate). Outside a module it is the path
// as given, cleaned and slash-separated.
func specName(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.ToSlash(filepath.Clean(path))
	}
	if root, ok := moduleRoot(filepath.Dir(abs)); ok {
		if rel, err := filepath.Rel(root, abs); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(filepath.Clean(path))
}

// specFlags is a repeatable -spec flag.
type specFlags []string

func (s *specFlags) String() string { return strings.Join(*s, ",") }

func (s *specFlags) Set(v string) error {
	if v == "" {
		return fmt.Errorf("empty spec path")
	}
	*s = append(*s, v)
	return nil
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBottleneckQuick(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "grid.svg")
	code, out, errOut := call("bottleneck", "-quick", "-bytes", "1048576", "-span", "5s", "-svg", svg)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"| buffer | loss 0% | loss 2% |",
		"| 4096 |", "/ 35k |", // smoltcp's lossless 4 KiB figure beside tcpfsm's
		"| 10 Mbit/s | 10ms | 1 BDP",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(svg)
	if err != nil || !strings.HasPrefix(string(data), "<svg") || !strings.Contains(string(data), "polyline") {
		t.Errorf("chart: %v\n%.200s", err, data)
	}
}

func TestBottleneckUsage(t *testing.T) {
	for _, args := range [][]string{{"-cc", "vegas"}, {"-bytes", "0"}, {"extra"}} {
		if code, _, errOut := call(append([]string{"bottleneck"}, args...)...); code != 2 || errOut == "" {
			t.Errorf("bottleneck %q: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

package netns

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(RunTests(m)) }

func TestInsideFreshNamespace(t *testing.T) {
	Require(t)
	cur, err := current()
	if err != nil {
		t.Fatal(err)
	}
	if parent := os.Getenv(EnvMarker); parent == cur || parent == "" {
		t.Fatalf("marker %q, current namespace %q: want a different, non-empty parent", parent, cur)
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if lo.Flags&net.FlagUp == 0 {
		t.Fatalf("lo flags %v: want up", lo.Flags)
	}
	// A fresh namespace has no addresses besides loopback ones.
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
			t.Errorf("unexpected address %v in a fresh namespace", a)
		}
	}
	// Loopback carries traffic.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial over lo: %v", err)
	}
	c.Close()
}

func TestMarkerInSameNamespaceIsError(t *testing.T) {
	cur, err := current()
	if err != nil {
		t.Fatal(err)
	}
	const marker = "TCPFSM_NETNS_TEST_SAME"
	t.Setenv(marker, cur)
	if Inside(marker) {
		t.Fatal("Inside reports true although the marker names the current namespace")
	}
	inside, _, err := Reexec(marker)
	if err == nil || inside {
		t.Fatalf("Reexec = inside %v, err %v; want an error", inside, err)
	}
}

func TestEmptyMarkerIsError(t *testing.T) {
	if _, _, err := Reexec(""); err == nil {
		t.Fatal("Reexec(\"\") succeeded")
	}
}

const helperEnv = "TCPFSM_NETNS_HELPER"

// TestHelperChild is not a test: it is the grandchild process of
// TestExitCodePropagates, which checks that it runs in a fresh namespace and
// exits the way the helper variable asks.
func TestHelperChild(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for TestExitCodePropagates")
	}
	if !Inside(EnvMarker) {
		os.Exit(3)
	}
	if mode == "kill" {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	n, _ := strconv.Atoi(mode)
	os.Exit(n)
}

// TestExitCodePropagates runs this test binary with no marker: its TestMain
// re-executes it in a new namespace, the grandchild exits with a chosen
// status, and the middle process must exit with the same status.
func TestExitCodePropagates(t *testing.T) {
	Require(t) // we are root if we got in here
	for _, tc := range []struct {
		mode string
		want int
	}{
		{"0", 0},
		{"7", 7},
		{"kill", 128 + int(syscall.SIGKILL)},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperChild$")
		cmd.Env = append(os.Environ(), EnvMarker+"=", helperEnv+"="+tc.mode)
		out, err := cmd.CombinedOutput()
		got := 0
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			got = exitErr.ExitCode()
		} else if err != nil {
			t.Fatalf("mode %s: %v", tc.mode, err)
		}
		if got != tc.want {
			t.Errorf("mode %s: exit code %d, want %d; output:\n%s", tc.mode, got, tc.want, out)
		}
	}
}

// TestPeer: a Peer's functions run in a namespace of their own, other than
// the program's, and Close ends it.
func TestPeer(t *testing.T) {
	Require(t)
	here, err := current()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPeer()
	if err != nil {
		t.Fatal(err)
	}
	var there string
	p.Do(func() {
		b, err := os.Readlink("/proc/thread-self/ns/net")
		if err != nil {
			t.Error(err)
		}
		there = b
	})
	p.Close()
	if there == "" || there == here {
		t.Fatalf("the peer runs in %q, the program in %q: want two namespaces", there, here)
	}
}

package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// EnvMarker is the default name of the environment variable that tells a
// re-executed child it runs in the fresh namespace. Its value is the parent's
// namespace (as read from /proc/self/ns/net).
const EnvMarker = "TCPFSM_NETNS"

// ErrNotRoot is returned by Reexec when the process may not create a network
// namespace because it is not running as root.
var ErrNotRoot = errors.New("netns: creating a network namespace needs root (CAP_SYS_ADMIN); run as root")

// Reexec makes sure the program runs in a fresh network namespace.
//
// If the program already runs in the namespace a parent made for it (the
// environment variable envMarker names a namespace other than the current
// one), Reexec brings lo up and returns inside == true.
//
// Otherwise, as root, it runs /proc/self/exe with the same arguments, the same
// standard streams and envMarker set, in a new network namespace; waits for
// it; and returns inside == false with the child's exit code in code (128+n
// if the child was killed by signal n). The caller should exit with code.
//
// Without root it returns an error wrapping ErrNotRoot.
func Reexec(envMarker string) (inside bool, code int, err error) {
	if envMarker == "" {
		return false, 0, errors.New("netns: empty environment marker name")
	}
	cur, err := current()
	if err != nil {
		return false, 0, err
	}
	if parent, ok := os.LookupEnv(envMarker); ok && parent != "" {
		if parent == cur {
			return false, 0, fmt.Errorf("netns: %s=%s is set but this process is still in that namespace", envMarker, parent)
		}
		if err := LoopbackUp(); err != nil {
			return true, 0, err
		}
		return true, 0, nil
	}
	if os.Geteuid() != 0 {
		return false, 0, fmt.Errorf("netns: euid %d: %w", os.Geteuid(), ErrNotRoot)
	}
	code, err = runChild(envMarker, cur)
	return false, code, err
}

func runChild(envMarker, parentNS string) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("netns: finding own executable: %w", err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envMarker+"="+parentNS)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWNET,
		// If this process dies (e.g. killed by go test's timeout), the
		// child must not live on. Pdeathsig fires when the *thread* that
		// forked exits, hence the locked thread below.
		Pdeathsig: syscall.SIGKILL,
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("netns: starting %s in a new network namespace: %w", exe, err)
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exitErr.ExitCode(), nil
	default:
		return 0, fmt.Errorf("netns: waiting for child %s: %w", exe, err)
	}
}

// Inside reports whether this process runs in the fresh namespace that a
// parent created for it with Reexec(envMarker).
func Inside(envMarker string) bool {
	parent := os.Getenv(envMarker)
	if parent == "" {
		return false
	}
	cur, err := current()
	return err == nil && cur != parent
}

// current names this thread's network namespace, e.g. "net:[4026531840]".
func current() (string, error) {
	s, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		return "", fmt.Errorf("netns: reading current network namespace: %w", err)
	}
	return s, nil
}

// LoopbackUp sets the IFF_UP flag on lo in the current network namespace.
func LoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: bringing lo up: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("netns: bringing lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("netns: bringing lo up: SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("netns: bringing lo up: SIOCSIFFLAGS: %w", err)
	}
	return nil
}

// RunTests is a TestMain body: as root it re-runs the test binary in a fresh
// network namespace and returns the child's exit code; otherwise (or if the
// namespace cannot be made) it runs the tests here, where Require skips.
//
//	func TestMain(m *testing.M) { os.Exit(netns.RunTests(m)) }
func RunTests(m *testing.M) int {
	inside, code, err := Reexec(EnvMarker)
	switch {
	case inside && err != nil:
		fmt.Fprintf(os.Stderr, "%v\n", err)
		return 1
	case inside:
		return m.Run()
	case err != nil:
		if !errors.Is(err, ErrNotRoot) {
			fmt.Fprintf(os.Stderr, "%v; running tests in place, namespace tests will skip\n", err)
		}
		return m.Run()
	default:
		return code
	}
}

// Require skips the test unless it runs inside a fresh network namespace
// made by RunTests (see the package documentation).
func Require(t testing.TB) {
	t.Helper()
	if Inside(EnvMarker) {
		return
	}
	why := "TestMain does not call netns.RunTests, or creating the namespace failed (see stderr)"
	if os.Geteuid() != 0 {
		why = fmt.Sprintf("running as euid %d", os.Geteuid())
	}
	t.Skipf("needs root and a fresh network namespace (run as root): %s", why)
}

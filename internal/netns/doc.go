// Package netns runs a program (a test binary or the CLI demo) inside a fresh
// network namespace that it creates for itself and that the kernel deletes
// when the program exits.
//
// Anything in tcpfsm that sends real packets (TUN devices, raw sockets,
// private addresses) must do so in such a namespace, so that it can neither
// disturb nor be disturbed by the host's network.
//
// # Why re-exec
//
// A network namespace belongs to a thread, not to a process. unshare(2) with
// CLONE_NEWNET moves only the calling OS thread; a Go program has many
// threads, and the scheduler moves goroutines between them at will, so after
// an unshare some goroutines would run in the new namespace and some in the
// old one. runtime.LockOSThread limits the damage to one goroutine but does
// not help the netpoller, timers or any library that starts goroutines.
// The only safe way is to start the process in the namespace from its first
// instruction: the parent re-runs /proc/self/exe with the same arguments via
// clone(2) with CLONE_NEWNET (exec.Cmd's SysProcAttr.Cloneflags), waits for
// it, and exits with its status. Only the network namespace is new; mounts,
// PIDs and users are shared with the parent.
//
// The child finds an environment variable (the marker) naming the parent's
// namespace, checks that its own namespace differs, and brings the loopback
// interface up (a fresh namespace starts with lo down). When the child exits
// nothing holds the namespace any more and the kernel deletes it, along with
// every interface created in it: no cleanup is needed, even after a crash.
//
// # Use from tests
//
//	func TestMain(m *testing.M) { os.Exit(netns.RunTests(m)) }
//
//	func TestTUN(t *testing.T) {
//		netns.Require(t) // skips unless inside a fresh namespace
//		...
//	}
//
// As root, RunTests re-runs the test binary in a fresh namespace. Without
// root it runs the tests in place, and every test that calls Require skips
// with a message saying it needs root.
//
// # Use from a command
//
//	inside, code, err := netns.Reexec(netns.EnvMarker)
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err)
//		os.Exit(2)
//	}
//	if !inside {
//		os.Exit(code) // the child did the work
//	}
//	// ... we are in the fresh namespace ...
package netns

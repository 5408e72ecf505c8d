package netns

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Peer is a second network namespace inside a program that already runs
// in a fresh one (Reexec, RunTests): one OS thread, locked to a goroutine
// that does nothing but run the functions given to Do, unshares into a new
// namespace. Sockets created in Do stay in that namespace whichever thread
// uses them later, and commands started in Do (exec.Command) inherit it;
// move an interface into it with `ip link set DEV netns TID`. Close ends
// the thread (it is never unlocked, so the runtime retires it), and the
// kernel deletes the namespace once nothing holds it.
type Peer struct {
	jobs chan func()
	done chan struct{}
	tid  int
}

// NewPeer starts the thread and its namespace.
func NewPeer() (*Peer, error) {
	p := &Peer{jobs: make(chan func()), done: make(chan struct{})}
	tid := make(chan int)
	go func() {
		defer close(p.done)
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			tid <- -1
			return
		}
		tid <- unix.Gettid()
		for f := range p.jobs {
			f()
		}
	}()
	if p.tid = <-tid; p.tid < 0 {
		<-p.done
		return nil, fmt.Errorf("netns: unshare(CLONE_NEWNET) on a locked thread failed")
	}
	return p, nil
}

// TID is the thread's ID, which `ip link set DEV netns TID` accepts.
func (p *Peer) TID() int { return p.tid }

// Do runs f in the peer namespace and waits for it.
func (p *Peer) Do(f func()) {
	done := make(chan struct{})
	p.jobs <- func() { defer close(done); f() }
	<-done
}

// Close ends the peer's thread.
func (p *Peer) Close() {
	close(p.jobs)
	<-p.done
}

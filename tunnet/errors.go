package tunnet

import (
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/tcpfsm/tcpfsm/machine"
)

// connError is a machine error with the errno a kernel socket would report:
// errors.Is matches both (machine.ErrReset and syscall.ECONNRESET), and
// Timeout is true for ETIMEDOUT.
type connError struct {
	err   error
	errno syscall.Errno
}

func (e *connError) Error() string   { return e.err.Error() }
func (e *connError) Unwrap() []error { return []error{e.err, e.errno} }
func (e *connError) Timeout() bool   { return e.errno.Timeout() }
func (e *connError) Temporary() bool { return false }

// The connection errors the stack reports, one value each (no allocation).
var (
	errReset    = &connError{machine.ErrReset, syscall.ECONNRESET}
	errRefused  = &connError{machine.ErrRefused, syscall.ECONNREFUSED}
	errTimedOut = &connError{machine.ErrTimeout, syscall.ETIMEDOUT}
	errAborted  = &connError{machine.ErrAborted, syscall.ECONNABORTED}
	errClosing  = &connError{machine.ErrClosing, syscall.EPIPE}
)

// mapErr turns an error from machine.Conn into the connError with the
// matching errno; other errors pass through.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, machine.ErrReset):
		return errReset
	case errors.Is(err, machine.ErrRefused):
		return errRefused
	case errors.Is(err, machine.ErrTimeout):
		return errTimedOut
	case errors.Is(err, machine.ErrAborted):
		return errAborted
	case errors.Is(err, machine.ErrClosing):
		return errClosing
	}
	return err
}

// opError wraps err the way package net does, so callers can use
// net.Error, errors.Is(err, net.ErrClosed), os.ErrDeadlineExceeded and the
// errno values.
func opError(op string, local, remote net.Addr, err error) error {
	if err == nil {
		return nil
	}
	return &net.OpError{Op: op, Net: "tcp", Source: local, Addr: remote, Err: err}
}

// errDeadline is what a Read or Write whose deadline passed returns inside
// its net.OpError: os.ErrDeadlineExceeded (Timeout() is true).
var errDeadline = os.ErrDeadlineExceeded

package header

import (
	"errors"
	"strconv"
)

// Reason classifies why Decode rejected a packet; [Counters] keeps one
// counter per Reason.
type Reason uint8

// Drop reasons.
const (
	ReasonOther          Reason = iota // an error not produced by this package
	ReasonShort                        // buffer shorter than a header it must hold
	ReasonBadVersion                   // IP version neither 4 nor 6
	ReasonBadHeaderLen                 // IPv4 IHL < 5
	ReasonBadLength                    // IP length field inconsistent with the buffer or header
	ReasonFragment                     // IPv4 fragment or IPv6 non-atomic fragment
	ReasonBadIPChecksum                // IPv4 header checksum wrong
	ReasonNotTCP                       // upper-layer protocol is not TCP
	ReasonBadExtHeader                 // IPv6 extension-header chain malformed or too long
	ReasonBadDataOffset                // TCP data offset < 5 or beyond the segment
	ReasonBadTCPChecksum               // TCP checksum wrong
	ReasonBadOptions                   // TCP options malformed
	NumReasons                         // number of reasons; not a reason
)

var reasonNames = [NumReasons]string{
	ReasonOther:          "other",
	ReasonShort:          "short",
	ReasonBadVersion:     "bad-version",
	ReasonBadHeaderLen:   "bad-header-len",
	ReasonBadLength:      "bad-length",
	ReasonFragment:       "fragment",
	ReasonBadIPChecksum:  "bad-ip-checksum",
	ReasonNotTCP:         "not-tcp",
	ReasonBadExtHeader:   "bad-ext-header",
	ReasonBadDataOffset:  "bad-data-offset",
	ReasonBadTCPChecksum: "bad-tcp-checksum",
	ReasonBadOptions:     "bad-options",
}

// String returns a short kebab-case name, suitable as a metric label.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Error is a decode error. All values are predefined (Decode never
// allocates one); the specific ones wrap the sentinel of their class, so
// errors.Is(err, ErrBadOptions) matches every TCP option error.
type Error struct {
	reason Reason
	msg    string
	parent *Error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the class sentinel this error refines, or nil.
func (e *Error) Unwrap() error {
	if e.parent == nil {
		return nil
	}
	return e.parent
}

// Reason returns the drop reason of e.
func (e *Error) Reason() Reason { return e.reason }

func sentinel(r Reason, msg string) *Error {
	return &Error{reason: r, msg: "header: " + msg}
}

// refine returns a more specific error of the same class as parent.
func refine(parent *Error, detail string) *Error {
	return &Error{reason: parent.reason, msg: parent.msg + ": " + detail, parent: parent}
}

// Class sentinels. Decode returns these or a refinement of them; test with
// errors.Is.
var (
	ErrShort         = sentinel(ReasonShort, "packet too short")
	ErrBadVersion    = sentinel(ReasonBadVersion, "IP version is neither 4 nor 6")
	ErrBadHeaderLen  = sentinel(ReasonBadHeaderLen, "IPv4 header length (IHL) < 5")
	ErrBadLength     = sentinel(ReasonBadLength, "bad IP length field")
	ErrFragment      = sentinel(ReasonFragment, "IP fragment (reassembly unsupported)")
	ErrNotTCP        = sentinel(ReasonNotTCP, "upper-layer protocol is not TCP")
	ErrBadExtHeader  = sentinel(ReasonBadExtHeader, "bad IPv6 extension header")
	ErrBadDataOffset = sentinel(ReasonBadDataOffset, "bad TCP data offset")
	ErrBadOptions    = sentinel(ReasonBadOptions, "bad TCP options")

	// ErrBadChecksum is the class of both checksum errors; Decode returns
	// ErrBadIPChecksum or ErrBadTCPChecksum, never ErrBadChecksum itself.
	ErrBadChecksum    = sentinel(ReasonOther, "bad checksum")
	ErrBadIPChecksum  = &Error{reason: ReasonBadIPChecksum, msg: "header: bad checksum: IPv4 header", parent: ErrBadChecksum}
	ErrBadTCPChecksum = &Error{reason: ReasonBadTCPChecksum, msg: "header: bad checksum: TCP", parent: ErrBadChecksum}
)

// Specific decode errors.
var (
	errShortEmpty = refine(ErrShort, "empty buffer")
	errShortIPv4  = refine(ErrShort, "less than the 20-byte IPv4 header")
	errShortIPv6  = refine(ErrShort, "less than the 40-byte IPv6 header")
	errShortTCP   = refine(ErrShort, "TCP segment less than the 20-byte TCP header")

	errTotalLenBeyond   = refine(ErrBadLength, "IPv4 total length exceeds the buffer")
	errTotalLenBelow    = refine(ErrBadLength, "IPv4 total length less than the header length")
	errPayloadLenBeyond = refine(ErrBadLength, "IPv6 payload length exceeds the buffer")

	errFragIPv4 = refine(ErrFragment, "IPv4 MF flag or fragment offset set")
	errFragIPv6 = refine(ErrFragment, "IPv6 fragment header with offset or M flag set")

	errExtTooMany   = refine(ErrBadExtHeader, "more than 8 extension headers")
	errExtTruncated = refine(ErrBadExtHeader, "extension header runs past the payload")
	errExtRouting   = refine(ErrBadExtHeader, "routing header with segments left > 0")

	errDataOffsetSmall  = refine(ErrBadDataOffset, "data offset < 5")
	errDataOffsetBeyond = refine(ErrBadDataOffset, "data offset beyond the segment")

	errOptTruncated = refine(ErrBadOptions, "option runs past the header")
	errOptLen       = refine(ErrBadOptions, "option length < 2")
	errOptMSS       = refine(ErrBadOptions, "MSS option length != 4")
	errOptWScale    = refine(ErrBadOptions, "window scale option length != 3")
	errOptSACKPerm  = refine(ErrBadOptions, "SACK-permitted option length != 2")
	errOptTS        = refine(ErrBadOptions, "timestamps option length != 10")
	errOptSACK      = refine(ErrBadOptions, "SACK option length not 2+8n with n >= 1")
)

// Encode errors. They are programming errors in the caller, not drop
// reasons.
var (
	ErrBufferTooSmall = errors.New("header: encode: buffer too small for packet")
	ErrAddrFamily     = errors.New("header: encode: src and dst must be valid and both IPv4 or both IPv6")
	ErrTooLong        = errors.New("header: encode: packet longer than the IP length field allows")
	ErrOptionsTooLong = errors.New("header: encode: TCP options exceed 40 bytes")
	ErrSACKCount      = errors.New("header: encode: Options.NumSACK outside 0..4")
)

// Package timerwheel is the single timer facility of the tunnet runtime: one
// hashed timing wheel holds every connection's timers (retransmission,
// TIME-WAIT, delayed ACK, keepalive), so there is no goroutine and no
// runtime timer per connection.
//
// A Timer is an intrusive struct that the caller embeds in its own state, so
// Schedule, Stop and firing never allocate. The owner loop sleeps until
// Next, then calls Advance with the current time, which calls fire for every
// timer due.
//
// Time is cut into ticks counted from the start time given to New. A timer
// fires at the first tick boundary at or after its deadline: never early,
// and less than one tick late when Advance is called at Next. Timers in one
// tick fire in the order they were scheduled, so firing follows deadline
// order to within one tick.
//
// The wheel has a power-of-two number of slots; slot i holds the timers due
// at ticks congruent to i within the current rotation, and a bitmap of
// non-empty slots makes Next a scan of slots/64 words. Deadlines beyond one
// rotation wait in an overflow min-heap and move into the wheel as it turns,
// so long timers (keepalive, user timeout) cost O(log n) once rather than a
// visit every rotation.
//
// A Wheel is not safe for concurrent use: the loop that owns it calls all
// its methods, fire included.
package timerwheel

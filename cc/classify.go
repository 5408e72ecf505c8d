package cc

// Classify turns an acceptable ACK into the machine's event in state s,
// given RFC 6582's recovery point recover. ok is false for an ACK that is
// neither new nor a duplicate (a window update, an ACK that carries text):
// congestion control ignores it.
//
//   - SND.UNA < SEG.ACK: in recovery, full_ack if it covers recover (SEG.ACK
//     > recover), else partial_ack; outside recovery, new_ack.
//   - a duplicate (Ack.Duplicate): outside recovery with the scoreboard
//     declaring the first unacknowledged segment lost, sack_loss; else
//     dup_ack.
func Classify(s State, recover uint32, a Ack) (e Event, ok bool) {
	switch {
	case seqGT(a.SegAck, a.SndUna):
		if !inRecovery(s) {
			return EventNewAck, true
		}
		if seqGT(a.SegAck, recover) {
			return EventFullAck, true
		}
		return EventPartialAck, true
	case !a.Duplicate || a.SegAck != a.SndUna:
		return 0, false
	case a.SACKLoss && !inRecovery(s):
		return EventSackLoss, true
	}
	return EventDupAck, true
}

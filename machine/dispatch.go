package machine

// dispatch steps c's machine on e from s. A Config.Step, which tests set to
// check or mutate the dispatcher, gets c as an Actions. Otherwise stepConn
// runs: Step's switch generated for *Conn (dispatch_conn_gen.go), whose calls
// to c's guards and actions are direct, and inlined where they are small.
func (c *Conn) dispatch(s State, e Event) (State, Rule) {
	if f := c.cfg.Step; f != nil {
		return f(s, e, c)
	}
	return stepConn(s, e, c)
}

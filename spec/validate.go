package spec

// Validate checks that a decoded spec is well-formed. (Being completed: see helper.)
func Validate(m *Machine) ErrorList { return nil }

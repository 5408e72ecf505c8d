package mutate

// rapid registers its -rapid.* flags in every test binary that links it;
// CI runs `go test ./proptest/... -rapid.checks=N`, so every package under
// proptest must accept them.
import _ "pgregory.net/rapid"

// Package mutate holds deliberately broken variants of the TCP machine, used
// to show that the property tests and the exhaustive checker catch real
// bugs: each Mutation changes one rule or one emitted segment without
// touching package machine, through the seams it offers (Config.Step, and the
// simulator's rewriting of emitted segments).
package mutate

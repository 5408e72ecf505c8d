package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// Profiling one setup (-profile, -cpuprofile, -memprofile): where the time
// of its bulk transfers and the memory of its idle connections go.
var (
	profiled   string
	cpuProfile string
	memProfile string
	profiling  bool // the current setup is the profiled one
)

// startCPUProfile starts the CPU profile if setup is the profiled one (the
// first run only) and returns the function that stops it.
func startCPUProfile(setup string) (stop func()) {
	profiling = setup == profiled && profiled != ""
	if !profiling || cpuProfile == "" {
		return func() {}
	}
	f, err := os.Create(cpuProfile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		f.Close()
		return func() {}
	}
	cpuProfile = "" // once
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// writeHeapProfile writes the heap profile, once, while the profiled
// setup's idle connections are open.
func writeHeapProfile() {
	if !profiling || memProfile == "" {
		return
	}
	f, err := os.Create(memProfile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	}
	memProfile = ""
}

package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/stat (100 on Linux).
const clockTicks = 100

// cpuTimes reads the machine's busy and total CPU time, in seconds, from
// the first line of /proc/stat (all cores).
func cpuTimes() (busy, total float64) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0
	}
	fields := strings.Fields(sc.Text())
	for i, v := range fields[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		total += x
		if i != 3 && i != 4 { // idle, iowait
			busy += x
		}
	}
	return busy / clockTicks, total / clockTicks
}

// machineCPU is the CPU-seconds the machine has been busy, all cores.
func machineCPU() float64 {
	b, _ := cpuTimes()
	return b
}

// load measures how busy the machine is over d: the fraction of all
// cores' time not idle.
func load(d time.Duration) float64 {
	b0, t0 := cpuTimes()
	time.Sleep(d)
	b1, t1 := cpuTimes()
	if t1 <= t0 {
		return 0
	}
	return (b1 - b0) / (t1 - t0)
}

// waitQuiet waits, up to limit, for a second in which the machine is
// less than max busy, and returns the load it saw last.
func waitQuiet(max float64, limit time.Duration) (seen float64, quiet bool) {
	deadline := time.Now().Add(limit)
	for {
		seen = load(time.Second)
		if seen < max {
			return seen, true
		}
		if time.Now().After(deadline) {
			return seen, false
		}
		fmt.Fprintf(os.Stderr, "bench: the machine is %.0f%% busy; waiting for it to quiet down\n", 100*seen)
	}
}

package main

// CPU accounting of a benchmark phase from /proc (Linux; zeros elsewhere):
// how many cores segd, segd-bench and everything else on the machine used.
// On a 2-core machine the client competes with the server, and anything
// else running (a build, a test suite) skews the figures: the "other" column
// says so.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const clockTicks = 100 // USER_HZ on Linux

// procCPU is a process's user+system CPU time from /proc/PID/stat.
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 { // the command name may hold spaces
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 { // fields 14 and 15 of the line are 12 and 13 after the name
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// machineBusy is the CPU time all cores spent not idle, from /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	ln, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(ln)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks
}

// cpuMark is a point to measure CPU use from.
type cpuMark struct {
	at                   time.Time
	server, self, global time.Duration
}

// CPUShare is the cores used during a phase.
type CPUShare struct {
	Server float64 `json:"segd_cores"`
	Bench  float64 `json:"bench_cores"`
	Other  float64 `json:"other_cores"`
}

func markCPU(srv *child) cpuMark {
	m := cpuMark{at: time.Now(), self: procCPU("self"), global: machineBusy()}
	if srv != nil {
		m.server = procCPU(srv.pid())
	}
	return m
}

// since is the CPU use from m until now.
func (m cpuMark) since(srv *child) CPUShare {
	now := markCPU(srv)
	el := now.at.Sub(m.at).Seconds()
	if el <= 0 {
		return CPUShare{}
	}
	s := CPUShare{
		Server: (now.server - m.server).Seconds() / el,
		Bench:  (now.self - m.self).Seconds() / el,
	}
	s.Other = max(0, (now.global-m.global).Seconds()/el-s.Server-s.Bench)
	return s
}

func (s CPUShare) String() string {
	warn := ""
	if s.Other > 0.25 {
		warn = "  (other processes were busy: figures are low)"
	}
	return fmt.Sprintf("CPU: segd %.2f cores, segd-bench %.2f, other %.2f%s", s.Server, s.Bench, s.Other, warn)
}

package main

// Running segd as a child process for the wire benchmark: start it on a free
// loopback port (it reports the port it got in its JSON log), wait until it
// is ready, shut it down, and always make sure it is gone.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/segd-db/segd/bench"
)

// findSegd resolves the segd binary: the flag, else bin/segd, else PATH.
func findSegd(flagPath string) (string, error) {
	if flagPath != "" {
		return filepath.Abs(flagPath)
	}
	if st, err := os.Stat("bin/segd"); err == nil && !st.IsDir() {
		return filepath.Abs("bin/segd")
	}
	if p, err := exec.LookPath("segd"); err == nil {
		return p, nil
	}
	return "", errors.New("no segd binary: build it with `make build` (bin/segd) or give --segd PATH")
}

// child is one running segd.
type child struct {
	cmd     *exec.Cmd
	addr    string
	started time.Time
	exited  chan struct{} // closed when the process has exited
	waitErr error

	mu   sync.Mutex
	tail []string // the last lines of its log
}

const tailLines = 40

// startSegd starts bin on a free loopback port with dir as its data
// directory and returns once it listens.
func startSegd(ctx context.Context, bin, dir string, extra []string) (*child, error) {
	args := append([]string{
		"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--dir", dir, "--log-format", "json",
	}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, exited: make(chan struct{}), started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	addrCh := make(chan string, 1)
	go c.readLog(stderr, addrCh)
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	select {
	case c.addr = <-addrCh:
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("segd exited before listening (%v):\n%s", c.waitErr, c.logTail())
	case <-time.After(2 * time.Minute):
		c.kill()
		return nil, fmt.Errorf("segd did not report its address within 2 minutes:\n%s", c.logTail())
	case <-ctx.Done():
		c.kill()
		return nil, ctx.Err()
	}
}

// readLog keeps the log's tail and sends the listen address once seen.
func (c *child) readLog(r io.Reader, addrCh chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		ln := sc.Text()
		c.mu.Lock()
		c.tail = append(c.tail, ln)
		if len(c.tail) > tailLines {
			c.tail = c.tail[len(c.tail)-tailLines:]
		}
		c.mu.Unlock()
		if sent {
			continue
		}
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(ln), &rec) == nil && rec.Msg == "segd started" && rec.Addr != "" {
			addrCh <- rec.Addr
			sent = true
		}
	}
}

func (c *child) logTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "  " + strings.Join(c.tail, "\n  ")
}

// readiness is when a (re)started segd became usable, from process start.
type readiness struct {
	Ping   time.Duration // first PONG
	Loaded time.Duration // INFO loading:0
	Ready  time.Duration // ENT.COUNT as expected
	Count  int64
}

// waitReady polls until segd answers PING, has loaded and holds want
// entities (want < 0: any count), showing the wait on stderr.
func (c *child) waitReady(ctx context.Context, want int64, limit time.Duration) (readiness, error) {
	var rd readiness
	prog := bench.NewProgress(os.Stderr, "waiting for segd to load", "", 0).Start()
	defer prog.Stop()
	deadline := time.Now().Add(limit)
	var conn *bench.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		if time.Now().After(deadline) {
			return rd, fmt.Errorf("segd not ready after %s (ping %s, loaded %s, ENT.COUNT %d, want %d):\n%s",
				limit, rd.Ping, rd.Loaded, rd.Count, want, c.logTail())
		}
		select {
		case <-ctx.Done():
			return rd, ctx.Err()
		case <-c.exited:
			return rd, fmt.Errorf("segd exited while loading (%v):\n%s", c.waitErr, c.logTail())
		default:
		}
		if conn == nil {
			dc, err := bench.Dial(ctx, c.addr)
			if err != nil {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			conn = dc
			conn.Timeout = 10 * time.Second
		}
		if err := c.probe(conn, &rd, want); err != nil {
			var re bench.ReplyError
			if !errors.As(err, &re) { // a broken connection: dial again
				conn.Close()
				conn = nil
			}
		}
		if rd.Ready > 0 {
			return rd, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *child) probe(conn *bench.Conn, rd *readiness, want int64) error {
	if rd.Ping == 0 {
		if _, err := conn.Do("PING"); err != nil {
			return err
		}
		rd.Ping = time.Since(c.started)
	}
	if rd.Loaded == 0 {
		info, err := conn.Info("persistence")
		if err != nil {
			return err
		}
		if info["loading"] != "0" {
			return nil
		}
		rd.Loaded = time.Since(c.started)
	}
	n, err := conn.Int("ENT.COUNT")
	if err != nil {
		return err
	}
	rd.Count = n
	if want >= 0 && n != want {
		return nil // not there (yet): keep polling
	}
	rd.Ready = time.Since(c.started)
	return nil
}

// shutdown sends SHUTDOWN [SAVE|NOSAVE] and waits for the process to exit.
func (c *child) shutdown(ctx context.Context, mode string, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	conn, err := bench.Dial(ctx, c.addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.Timeout = limit
	prog := bench.NewProgress(os.Stderr, "SHUTDOWN "+mode, "", 0).Start()
	defer prog.Stop()
	conn.Command("SHUTDOWN", mode)
	if err := conn.Flush(); err != nil {
		return 0, err
	}
	if r, err := conn.ReadReply(); err == nil && r.Err() != nil { // success closes the connection
		return 0, fmt.Errorf("SHUTDOWN %s: %w", mode, r.Err())
	}
	select {
	case <-c.exited:
	case <-time.After(limit):
		c.kill()
		return 0, fmt.Errorf("segd did not exit within %s of SHUTDOWN %s:\n%s", limit, mode, c.logTail())
	case <-ctx.Done():
		c.kill()
		return 0, ctx.Err()
	}
	if c.waitErr != nil {
		return time.Since(start), fmt.Errorf("segd exited with %v after SHUTDOWN:\n%s", c.waitErr, c.logTail())
	}
	return time.Since(start), nil
}

// kill makes sure the process is gone: SIGTERM, then SIGKILL after a grace
// period. Safe to call more than once and after it has exited.
func (c *child) kill() {
	if c == nil {
		return
	}
	select {
	case <-c.exited:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return
	case <-time.After(15 * time.Second):
	}
	c.cmd.Process.Kill()
	<-c.exited
}

// pid is the child's process id as a string.
func (c *child) pid() string { return strconv.Itoa(c.cmd.Process.Pid) }

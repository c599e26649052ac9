package bench

// Running a query class against segd or Redis, and running redis-server as a
// throw-away child process on a free loopback port.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// ClassRunOptions say which class RunClass drives on which server.
type ClassRunOptions struct {
	Addr     string
	Redis    bool // send the Redis form of the queries, else the segd form
	Class    Class
	Entities int           // keys are drawn from u:0 … u:Entities-1
	Clients  int           // connections
	Pipeline int           // logical operations in flight per connection
	Duration time.Duration // run this long (when Requests is 0)
	Requests int64         // or this many logical operations in all
	Seed     uint64        // seeds each client's RNG: the same on both servers
	Progress io.Writer
}

// classReplyTimeout bounds the wait for one batch's replies: whole-set
// queries in Redis can take long under many clients (at 10M customers one
// round of 50 range queries, 500 SINTERCARDs on one thread, took over 2
// minutes on a busy 2-core machine).
const classReplyTimeout = 10 * time.Minute

// RunClass drives a class like Run drives a mix, counting logical operations:
// one is done when every reply of its commands is in (three SISMEMBERs, ten
// SINTERCARDs), and its latency runs from the write of its batch to its last
// reply. The result's command name is the class name with the server's.
func RunClass(ctx context.Context, o ClassRunOptions) (RunResult, error) {
	switch {
	case len(o.Class.Queries) == 0:
		return RunResult{}, errors.New("class without queries")
	case o.Clients < 1 || o.Pipeline < 1:
		return RunResult{}, errors.New("clients and pipeline must be at least 1")
	case o.Duration <= 0 && o.Requests <= 0:
		return RunResult{}, errors.New("give a duration or a request count")
	}
	server := "segd"
	if o.Redis {
		server = "redis"
	}
	label := o.Class.Name + " " + server
	names := []string{label}
	elapsed, stats, err := drive(ctx, driveOptions{Addr: o.Addr, Label: label, Names: names,
		Clients: o.Clients, Pipeline: o.Pipeline, Duration: o.Duration, Requests: o.Requests, Seed: o.Seed,
		ReplyTimeout: classReplyTimeout, Progress: o.Progress, NewWriter: func() opWriter {
			return func(c *Conn, r *rand.Rand) (int, int) {
				q, k := o.Class.pick(r, o.Entities)
				return 0, q.write(c, o.Redis, k)
			}
		}})
	res := newRunResult(RunOptions{Mix: o.Class.Name, Entities: o.Entities, Clients: o.Clients, Pipeline: o.Pipeline},
		elapsed, names, stats)
	return res, err
}

// RedisServer is a redis-server child process.
type RedisServer struct {
	Addr    string
	Dir     string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// StartRedis starts bin (redis-server) on a free loopback port with no
// persistence (--save "" --appendonly no) and waits until it answers PING.
func StartRedis(ctx context.Context, bin string, extra ...string) (*RedisServer, error) {
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("no redis-server (%w): install it (Debian: redis-server) or give --redis-server PATH", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken between probe and start
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", "segd-bench-redis-*")
		if err != nil {
			return nil, err
		}
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--daemonize", "no", "--dir", dir, "--logfile", "", "--loglevel", "warning"}, extra...)
		cmd := exec.Command(path, args...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("start %s: %w", path, err)
		}
		s := &RedisServer{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, cmd: cmd, exited: make(chan struct{})}
		go func() {
			s.waitErr = cmd.Wait()
			close(s.exited)
		}()
		if lastErr = s.waitPing(ctx, 10*time.Second); lastErr == nil {
			return s, nil
		}
		s.Stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, fmt.Errorf("redis-server did not start: %w", lastErr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *RedisServer) waitPing(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("redis-server exited: %v", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if c, err := Dial(ctx, s.Addr); err == nil {
			c.Timeout = time.Second
			_, err = c.Do("PING")
			c.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer PING within %s", s.Addr, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is the child's process id.
func (s *RedisServer) Pid() int { return s.cmd.Process.Pid }

// Stop ends the server (SIGTERM, SIGKILL after 10 s) and removes its
// directory. Safe to call more than once.
func (s *RedisServer) Stop() {
	if s == nil {
		return
	}
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	os.RemoveAll(s.Dir)
}

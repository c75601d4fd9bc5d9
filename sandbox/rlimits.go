package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/podrun/podrun/configs"
)

// serviceRlimits are the hard limits of the Podman service process. conmon
// and runc inherit them, and runc sets a container's rlimits from inside its
// user namespace, where it cannot raise a hard limit: a larger nofile or
// nproc fails every start with "error setting rlimit type 7: operation not
// permitted".
type serviceRlimits struct {
	pid           int
	noFile, nProc uint64 // hard limits; math.MaxUint64 stands for unlimited
}

// readServiceRlimits finds the process serving the unix socket (its peer
// credentials) and reads its hard limits from /proc. It fails where podrun
// cannot see that process (another PID namespace, a remote host).
func readServiceRlimits(sock string) (serviceRlimits, error) {
	pid, err := socketPeerPID(sock)
	if err != nil {
		return serviceRlimits{}, err
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return serviceRlimits{}, err
	}
	defer f.Close()
	r := serviceRlimits{pid: pid}
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *uint64
		rest, ok := strings.CutPrefix(line, "Max open files ")
		if ok {
			dst = &r.noFile
		} else if rest, ok = strings.CutPrefix(line, "Max processes "); ok {
			dst = &r.nProc
		} else {
			continue
		}
		fields := strings.Fields(rest) // soft, hard, unit
		if len(fields) < 2 {
			return r, fmt.Errorf("/proc/%d/limits: cannot read %q", pid, line)
		}
		if fields[1] == "unlimited" {
			*dst = math.MaxUint64
		} else if *dst, err = strconv.ParseUint(fields[1], 10, 64); err != nil {
			return r, fmt.Errorf("/proc/%d/limits: %q: %w", pid, line, err)
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return r, err
	}
	if found != 2 {
		return r, fmt.Errorf("/proc/%d/limits lacks the open files or processes limit", pid)
	}
	return r, nil
}

// socketPeerPID is the PID of the process that listens on a unix socket, as
// the kernel recorded it (SO_PEERCRED); it fails if that PID is not visible here.
func socketPeerPID(sock string) (int, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, fmt.Errorf("peer credentials of %s: %w", sock, credErr)
	}
	if cred.Pid <= 0 {
		return 0, errors.New("the process serving " + sock + " is not visible from here")
	}
	return int(cred.Pid), nil
}

// checkRlimits refuses nofile or nproc above the service's hard limits, each
// a *configs.Problem naming its key, as the configuration's own checks do.
func (c Config) checkRlimits(r serviceRlimits) error {
	var problems []error
	for _, l := range []struct {
		key, what, ulimit string
		want, hard        uint64
	}{
		{"sandbox.nofile", "open files", "-Hn", c.NoFile, r.noFile},
		{"sandbox.nproc", "processes", "-Hu", c.NProc, r.nProc},
	} {
		if l.want > l.hard {
			problems = append(problems, &configs.Problem{Key: l.key, Text: fmt.Sprintf(
				"%s (%d) is above the hard limit of %s (%d) of the Podman service (pid %d), which runc cannot raise for a container: "+
					"lower %s, or raise the service's limit (ulimit %s, or LimitNOFILE/LimitNPROC in its unit) and restart it",
				l.key, l.want, l.what, l.hard, r.pid, l.key, l.ulimit)})
		}
	}
	return errors.Join(problems...)
}

package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/podrun/podrun/runner"
)

// agentColumns is the one column order every agent query selects and scanAgent reads.
const agentColumns = `id, function, image, command, env, stdin, state, reason, exit_code,
	container_id, memory, cpus, pids, limits_enforced, labels,
	created_at, started_at, finished_at, expires_at, removed_at,
	async, callback_url, start, message, keep_alive,
	idle_timeout, idle_expires_at, webhook_url, warn_at, isolation, egress`

const selectAgent = `SELECT ` + agentColumns + ` FROM agents`

// selectListed is selectAgent without stdin, which a listing does not show
// and which may be large: scanAgent reads an empty one.
var selectListed = `SELECT ` + strings.Replace(agentColumns, "stdin,", "x'' AS stdin,", 1) + ` FROM agents`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanAgent reads one row selected with agentColumns.
func scanAgent(row scanner) (runner.Agent, error) {
	var (
		a                                   runner.Agent
		command, env, labels, egress        []byte
		exitCode                            sql.NullInt64
		created, started, finished, expires int64
		removed                             int64
		idleTimeout, idleExpires, warnAt    int64
	)
	err := row.Scan(&a.ID, &a.Function, &a.Image, &command, &env, &a.Stdin, &a.State, &a.Reason, &exitCode,
		&a.ContainerID, &a.Limits.Memory, &a.Limits.CPUs, &a.Limits.PIDs, &a.LimitsEnforced, &labels,
		&created, &started, &finished, &expires, &removed,
		&a.Async, &a.CallbackURL, &a.Start, &a.Message, &a.KeepAlive,
		&idleTimeout, &idleExpires, &a.WebhookURL, &warnAt, &a.Isolation, &egress)
	if err != nil {
		return runner.Agent{}, err
	}
	if exitCode.Valid {
		code := int(exitCode.Int64)
		a.ExitCode = &code
	}
	if a.Command, err = decodeSlice(command); err != nil {
		return runner.Agent{}, fmt.Errorf("agent %s command: %w", a.ID, err)
	}
	if a.Env, err = decodeMap(env); err != nil {
		return runner.Agent{}, fmt.Errorf("agent %s env: %w", a.ID, err)
	}
	if a.Labels, err = decodeMap(labels); err != nil {
		return runner.Agent{}, fmt.Errorf("agent %s labels: %w", a.ID, err)
	}
	if a.Egress, err = decodeEgress(egress); err != nil {
		return runner.Agent{}, fmt.Errorf("agent %s egress: %w", a.ID, err)
	}
	a.CreatedAt, a.StartedAt, a.FinishedAt = fromNanos(created), fromNanos(started), fromNanos(finished)
	a.ExpiresAt, a.RemovedAt = fromNanos(expires), fromNanos(removed)
	a.IdleTimeout, a.IdleExpiresAt, a.WarnAt = time.Duration(idleTimeout), fromNanos(idleExpires), fromNanos(warnAt)
	return a, nil
}

// scanAll reads every row with scan and closes rows; an empty result is an
// empty, non-nil slice, so a listing shows [] rather than null.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	all := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		all = append(all, v)
	}
	return all, rows.Err()
}

// scanAgents reads every agent row.
func scanAgents(rows *sql.Rows) ([]runner.Agent, error) { return scanAll(rows, scanAgent) }

// nanos stores a time as unix nanoseconds, with the zero time as 0 so "unset" compares simply.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// encodeJSON stores nil slices and maps as [] and {} so SQL JSON functions always see a value.
func encodeJSON[T any](v T, empty string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if string(b) == "null" {
		return empty, nil
	}
	return string(b), nil
}

// isConstraint reports whether err is the SQLite constraint failure code
// (for example sqlite3.ErrConstraintForeignKey).
func isConstraint(err error, code sqlite3.ErrNoExtended) bool {
	var e sqlite3.Error
	return errors.As(err, &e) && e.ExtendedCode == code
}

// exitCodeArg binds a nil exit code as NULL.
func exitCodeArg(code *int) any {
	if code == nil {
		return nil
	}
	return int64(*code)
}

// statesJSON binds a list of states as one JSON array, for `IN (SELECT value FROM json_each(?))`,
// so a statement with any number of states can be prepared once.
func statesJSON(states []runner.State) string {
	if len(states) == 0 {
		return "[]" // json.Marshal would say null, which json_each rejects
	}
	b, _ := json.Marshal(states) // a slice of strings cannot fail to marshal
	return string(b)
}

// finalStates are the states an agent never leaves.
var finalStates = slices.DeleteFunc(slices.Clone(runner.States), runner.State.Live)

// inList renders states as SQL literals. States are the package's own constants,
// never client input, and a literal list lets SQLite match partial indexes.
func inList(states ...runner.State) string {
	quoted := make([]string, len(states))
	for i, st := range states {
		quoted[i] = "'" + string(st) + "'"
	}
	return strings.Join(quoted, ", ")
}

// functionColumns is the one column order every function query selects and scanFunction reads.
const functionColumns = `name, image, command, env, memory, cpus, pids, timeout,
	warm, max_concurrency, max_output, created_at, updated_at,
	labels, annotations, secrets, env_process, req_memory, req_cpus, isolation, egress`

// scanFunction reads one row selected with functionColumns.
func scanFunction(row scanner) (runner.Function, error) {
	var (
		f                            runner.Function
		command, env                 []byte
		labels, annotations, secrets []byte
		egress                       []byte
		timeout                      int64
		created, updated             int64
	)
	err := row.Scan(&f.Name, &f.Image, &command, &env, &f.Limits.Memory, &f.Limits.CPUs, &f.Limits.PIDs, &timeout,
		&f.Warm, &f.MaxConcurrency, &f.MaxOutput, &created, &updated,
		&labels, &annotations, &secrets, &f.EnvProcess, &f.Requests.Memory, &f.Requests.CPUs, &f.Isolation, &egress)
	if err != nil {
		return runner.Function{}, err
	}
	if f.Command, err = decodeSlice(command); err != nil {
		return runner.Function{}, fmt.Errorf("function %s command: %w", f.Name, err)
	}
	if f.Env, err = decodeMap(env); err != nil {
		return runner.Function{}, fmt.Errorf("function %s env: %w", f.Name, err)
	}
	if f.Labels, err = decodeMap(labels); err != nil {
		return runner.Function{}, fmt.Errorf("function %s labels: %w", f.Name, err)
	}
	if f.Annotations, err = decodeMap(annotations); err != nil {
		return runner.Function{}, fmt.Errorf("function %s annotations: %w", f.Name, err)
	}
	if f.Secrets, err = decodeSlice(secrets); err != nil {
		return runner.Function{}, fmt.Errorf("function %s secrets: %w", f.Name, err)
	}
	if f.Egress, err = decodeEgress(egress); err != nil {
		return runner.Function{}, fmt.Errorf("function %s egress: %w", f.Name, err)
	}
	f.Timeout = time.Duration(timeout)
	f.CreatedAt, f.UpdatedAt = fromNanos(created), fromNanos(updated)
	return f, nil
}

// resultColumns is the one column order every result query selects and scanResult reads.
const resultColumns = `agent_id, exit_code, output, truncated, created_at,
	callback_url, callback_status, callback_attempts`

// scanResult reads one row selected with resultColumns.
func scanResult(row scanner) (runner.Result, error) {
	var (
		r       runner.Result
		created int64
	)
	err := row.Scan(&r.AgentID, &r.ExitCode, &r.Output, &r.Truncated, &created,
		&r.CallbackURL, &r.CallbackStatus, &r.CallbackAttempts)
	if err != nil {
		return runner.Result{}, err
	}
	r.Output = nonNil(r.Output)
	r.CreatedAt = fromNanos(created)
	return r, nil
}

// decodeEgress reads a stored allow list; [] is nil, no egress.
func decodeEgress(b []byte) ([]string, error) {
	s, err := decodeSlice(b)
	if len(s) == 0 {
		return nil, err
	}
	return s, err
}

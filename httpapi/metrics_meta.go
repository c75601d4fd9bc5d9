package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// metricFamily is what /metrics says about one metric family in its # TYPE and # HELP lines.
type metricFamily struct {
	typ  string // counter, gauge, histogram or summary
	help string
}

// families is every family /metrics exposes, podrun's own and the Go runtime
// and process ones of VictoriaMetrics/metrics, with its type and help text.
// Prometheus shows a family without them as "unknown", and promtool's lint
// fails it. The library writes the # HELP lines without text (its only
// option, metrics.ExposeMetadata, is all or nothing), so podrun fills them in
// from here. A family missing from this table is left out of the exposition;
// a test checks that the library writes none that is missing.
var families = map[string]metricFamily{
	"podrun_agents":                          {"gauge", "Agents now pending, running or terminating, by state; finished agents are counted by podrun_agent_transitions_total."},
	"podrun_agents_created_total":            {"counter", "Agents accepted, invocations included."},
	"podrun_agent_transitions_total":         {"counter", "State transitions of agents, by the state entered."},
	"podrun_ttl_expired_total":               {"counter", "Agents killed at their deadline (time to live or function timeout)."},
	"podrun_sweeper_removed_total":           {"counter", "Containers podrun removed, by the state of their agent, or orphan for a container no agent claims."},
	"podrun_http_requests_total":             {"counter", "HTTP requests served, by route pattern and status code."},
	"podrun_http_request_duration_seconds":   {"histogram", "Time to serve an HTTP request, by route pattern; a streamed answer counts until its end."},
	"podrun_podman_request_duration_seconds": {"histogram", "Duration of Podman API calls, by operation."},
	"podrun_invocations_total":               {"counter", "Finished function invocations, synchronous and asynchronous, by function, start (cold or warm) and outcome."},
	"podrun_invocation_duration_seconds":     {"histogram", "Time from an invocation's request to its process's end, by start (cold or warm)."},
	"podrun_pool_size":                       {"gauge", "Warm containers ready in a function's pool."},
	"podrun_pool_hits_total":                 {"counter", "Synchronous invocations served by a warm container."},
	"podrun_pool_misses_total":               {"counter", "Synchronous invocations that found no warm container and started a cold one."},
	"podrun_egress_decisions_total":          {"counter", "Connections and requests podrun's egress proxy allowed or denied, by decision."},
	"podrun_egress_bytes_total":              {"counter", "Bytes through podrun's egress proxy, by direction (sent by agents, received by them)."},

	"podrun_monitor_sample_duration_seconds": {"histogram", "Time the resource monitor took to sample every running agent once."},
	"podrun_monitor_agents":                  {"gauge", "Running agents the resource monitor sampled in its latest pass."},
	"podrun_function_cpu_seconds_total":      {"counter", "CPU seconds used by agents, by function (\"\" for agents made by POST /v1/agents), as the resource monitor sampled them."},
	"podrun_function_memory_peak_bytes":      {"histogram", "Memory peak of each agent the resource monitor watched, by function, recorded once when it stopped running."},
	"podrun_alerts_total":                    {"counter", "Resource alerts raised, by function and kind (memory, pids, cpu_throttled, tmp)."},
	"podrun_phase_duration_seconds":          {"histogram", "Time of each phase of a container's path (create, attach, start, handover, first_byte, exit, remove), by start (cold or warm; a warm pool's create, attach and start run ahead of requests)."},
	"podrun_admission_queue_length":          {"gauge", "Invocations waiting for a slot of the admission limiter, queued and accepted asynchronous ones."},
	"podrun_admission_wait_seconds":          {"histogram", "Time an admitted invocation waited for its slot (zero when one was free)."},

	"go_info":                             {"gauge", "The Go version podrun was built with."},
	"go_info_ext":                         {"gauge", "The compiler, GOOS, GOARCH and GOROOT podrun was built with."},
	"go_goroutines":                       {"gauge", "Goroutines that exist."},
	"go_threads":                          {"gauge", "OS threads created."},
	"go_gomaxprocs":                       {"gauge", "GOMAXPROCS: OS threads that may run Go code at once."},
	"go_memlimit_bytes":                   {"gauge", "The Go runtime's soft memory limit (GOMEMLIMIT)."},
	"go_gc_duration_seconds":              {"summary", "Stop-the-world pauses of garbage collections."},
	"go_gc_pauses_seconds":                {"histogram", "Stop-the-world pauses of garbage collections."},
	"go_gc_cpu_seconds_total":             {"counter", "CPU time spent in garbage collection."},
	"go_gc_mark_assist_cpu_seconds_total": {"counter", "CPU time goroutines spent assisting the garbage collector."},
	"go_scavenge_cpu_seconds_total":       {"counter", "CPU time spent returning memory to the OS."},
	"go_mutex_wait_seconds_total":         {"counter", "Time goroutines spent blocked on sync.Mutex and sync.RWMutex."},
	"go_sched_latencies_seconds":          {"histogram", "Time goroutines spent runnable before running."},
	"go_memstats_alloc_bytes":             {"gauge", "Bytes of allocated heap objects."},
	"go_memstats_alloc_bytes_total":       {"counter", "Bytes allocated for heap objects, freed ones included."},
	"go_memstats_buck_hash_sys_bytes":     {"gauge", "Bytes of memory in profiling bucket hash tables."},
	"go_memstats_frees_total":             {"counter", "Heap objects freed."},
	"go_memstats_gc_cpu_fraction":         {"gauge", "Fraction of CPU time used by the garbage collector since the program started."},
	"go_memstats_gc_sys_bytes":            {"gauge", "Bytes of memory in garbage collection metadata."},
	"go_memstats_heap_alloc_bytes":        {"gauge", "Bytes of allocated heap objects."},
	"go_memstats_heap_idle_bytes":         {"gauge", "Bytes in idle (unused) heap spans."},
	"go_memstats_heap_inuse_bytes":        {"gauge", "Bytes in in-use heap spans."},
	"go_memstats_heap_objects":            {"gauge", "Allocated heap objects."},
	"go_memstats_heap_released_bytes":     {"gauge", "Bytes of physical memory returned to the OS."},
	"go_memstats_heap_sys_bytes":          {"gauge", "Bytes of heap memory obtained from the OS."},
	"go_memstats_last_gc_time_seconds":    {"gauge", "When the last garbage collection finished, in seconds since the Unix epoch."},
	"go_memstats_lookups_total":           {"counter", "Pointer lookups performed by the runtime."},
	"go_memstats_mallocs_total":           {"counter", "Heap objects allocated."},
	"go_memstats_mcache_inuse_bytes":      {"gauge", "Bytes of allocated mcache structures."},
	"go_memstats_mcache_sys_bytes":        {"gauge", "Bytes of memory obtained from the OS for mcache structures."},
	"go_memstats_mspan_inuse_bytes":       {"gauge", "Bytes of allocated mspan structures."},
	"go_memstats_mspan_sys_bytes":         {"gauge", "Bytes of memory obtained from the OS for mspan structures."},
	"go_memstats_next_gc_bytes":           {"gauge", "Heap size at which the next garbage collection starts."},
	"go_memstats_other_sys_bytes":         {"gauge", "Bytes of memory in miscellaneous off-heap runtime allocations."},
	"go_memstats_stack_inuse_bytes":       {"gauge", "Bytes in stack spans."},
	"go_memstats_stack_sys_bytes":         {"gauge", "Bytes of stack memory obtained from the OS."},
	"go_memstats_sys_bytes":               {"gauge", "Bytes of memory obtained from the OS."},

	"process_cpu_seconds_total":                     {"counter", "CPU time of the podrun process, user and system."},
	"process_cpu_seconds_user_total":                {"counter", "User CPU time of the podrun process."},
	"process_cpu_seconds_system_total":              {"counter", "System CPU time of the podrun process."},
	"process_major_pagefaults_total":                {"counter", "Major page faults of the podrun process."},
	"process_minor_pagefaults_total":                {"counter", "Minor page faults of the podrun process."},
	"process_num_threads":                           {"gauge", "OS threads of the podrun process."},
	"process_resident_memory_bytes":                 {"gauge", "Resident memory of the podrun process."},
	"process_resident_memory_peak_bytes":            {"gauge", "Peak resident memory of the podrun process."},
	"process_resident_memory_anon_bytes":            {"gauge", "Anonymous resident memory of the podrun process."},
	"process_resident_memory_file_bytes":            {"gauge", "File-backed resident memory of the podrun process."},
	"process_resident_memory_shared_bytes":          {"gauge", "Shared resident memory of the podrun process."},
	"process_virtual_memory_bytes":                  {"gauge", "Virtual memory of the podrun process."},
	"process_virtual_memory_peak_bytes":             {"gauge", "Peak virtual memory of the podrun process."},
	"process_start_time_seconds":                    {"gauge", "When the podrun process started, in seconds since the Unix epoch."},
	"process_open_fds":                              {"gauge", "Open file descriptors of the podrun process."},
	"process_max_fds":                               {"gauge", "The podrun process's limit on open file descriptors."},
	"process_io_read_bytes_total":                   {"counter", "Bytes the podrun process read (rchar)."},
	"process_io_written_bytes_total":                {"counter", "Bytes the podrun process wrote (wchar)."},
	"process_io_read_syscalls_total":                {"counter", "Read system calls of the podrun process."},
	"process_io_write_syscalls_total":               {"counter", "Write system calls of the podrun process."},
	"process_io_storage_read_bytes_total":           {"counter", "Bytes the podrun process read from storage."},
	"process_io_storage_written_bytes_total":        {"counter", "Bytes the podrun process wrote to storage."},
	"process_pressure_cpu_waiting_seconds_total":    {"counter", "Time some of podrun's cgroup's tasks waited for CPU (PSI some)."},
	"process_pressure_cpu_stalled_seconds_total":    {"counter", "Time all of podrun's cgroup's tasks waited for CPU (PSI full)."},
	"process_pressure_io_waiting_seconds_total":     {"counter", "Time some of podrun's cgroup's tasks waited for I/O (PSI some)."},
	"process_pressure_io_stalled_seconds_total":     {"counter", "Time all of podrun's cgroup's tasks waited for I/O (PSI full)."},
	"process_pressure_memory_waiting_seconds_total": {"counter", "Time some of podrun's cgroup's tasks waited for memory (PSI some)."},
	"process_pressure_memory_stalled_seconds_total": {"counter", "Time all of podrun's cgroup's tasks waited for memory (PSI full)."},
	"process_cgroup_cpu_throttled_seconds_total":    {"counter", "Time podrun's cgroup was throttled by its CPU quota."},
}

// leftOut are families the library writes that podrun does not expose: their
// names break Prometheus's conventions (a counter without _total, a gauge
// named _count), so promtool's lint fails them, and they add nothing needed.
var leftOut = map[string]bool{
	"go_cgo_calls_count": true,
	"go_cpu_count":       true,
	"go_gc_forced_count": true,
}

func init() {
	// Process-wide, as the library allows no other way: every set then writes # TYPE and # HELP lines.
	metrics.ExposeMetadata(true)
}

// writeWithMetadata copies the library's exposition to w, filling in each
// family's help text and type from families and leaving out the families it
// lacks. It relies on the library writing a family's # HELP line first, then
// its # TYPE line and its samples.
func writeWithMetadata(w io.Writer, exposition []byte) error {
	bw := bufio.NewWriter(w)
	keep := true
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, _, _ = strings.Cut(name, " ")
			var f metricFamily
			f, keep = families[name]
			if keep {
				bw.WriteString("# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.typ + "\n")
			}
			continue
		}
		if strings.HasPrefix(line, "# TYPE ") || !keep {
			continue // written with its # HELP line
		}
		bw.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

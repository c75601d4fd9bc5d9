package api

// Event types of the resource monitor (Event.Type), beside EventState and EventContainer.
const (
	EventAlert    = "alert"    // Name is the alert kind; Detail gives the value, the limit and the threshold
	EventResolved = "resolved" // the alert of kind Name fell back below its threshold less the hysteresis
)

// Alert kinds, the Name of EventAlert and EventResolved events and the entries of Usage.Alerts.
const (
	AlertMemory       = "memory"        // memory in use of the memory limit
	AlertPIDs         = "pids"          // processes and threads of the pids limit
	AlertCPUThrottled = "cpu_throttled" // CPU periods throttled by the cpus limit since the previous sample
	AlertTmp          = "tmp"           // bytes used of /tmp
)

// Usage is what the resource monitor measured of an agent (Agent.Usage): the
// latest sample and the peaks and totals since it started. It stays after the agent ends.
type Usage struct {
	// SampledAt is when the latest sample was taken.
	SampledAt Time `json:"sampled_at"`
	// Samples is how many samples were taken.
	Samples int `json:"samples"`
	// MemoryBytes is the memory in use at the latest sample; MemoryPeak the most ever in use (the
	// kernel's high-water mark where podrun can read it), both in bytes.
	MemoryBytes uint64 `json:"memory_bytes"`
	MemoryPeak  uint64 `json:"memory_peak"`
	// MemoryByteSeconds is memory in use integrated over time between samples, in byte-seconds.
	MemoryByteSeconds float64 `json:"memory_byte_seconds"`
	// PIDs is the processes and threads in the container's pids cgroup at the latest sample (under
	// gVisor: gVisor's own threads, not the agent's processes); PIDsPeak the most seen.
	PIDs     uint64 `json:"pids"`
	PIDsPeak uint64 `json:"pids_peak"`
	// CPUPercent is the share of one core used between the last two samples (100 is a full core).
	CPUPercent float64 `json:"cpu_percent"`
	// CPUSeconds is the CPU time used since the start, user and system.
	CPUSeconds float64 `json:"cpu_seconds"`
	// BlockRead and BlockWrite are the bytes read from and written to block devices since the start.
	BlockRead  uint64 `json:"block_read"`
	BlockWrite uint64 `json:"block_write"`
	// TmpUsed and TmpSize are the bytes used and the size of /tmp at the latest sample; 0 where
	// podrun cannot see the container's mounts.
	TmpUsed uint64 `json:"tmp_used"`
	TmpSize uint64 `json:"tmp_size"`
	// Alerts are the alert kinds up at the latest sample; [] when none.
	Alerts []string `json:"alerts"`
}

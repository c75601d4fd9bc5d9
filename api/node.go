package api

// Node is the answer of GET /v1/node: this podrun instance as one node of a fleet.
type Node struct {
	// Instance is the installation's persistent id, the podrun.instance label of its containers.
	Instance string   `json:"instance"`
	Host     NodeHost `json:"host"`
	Capacity Capacity `json:"capacity"`
	InUse    NodeUse  `json:"in_use"`
}

// NodeHost is the container host under the node, as Podman described it when podrun started.
type NodeHost struct {
	PodmanVersion string `json:"podman_version"`
	OCIRuntime    string `json:"oci_runtime"`
	// CgroupVersion is "v1" or "v2".
	CgroupVersion string `json:"cgroup_version"`
	// Controllers are the cgroup controllers available to containers.
	Controllers []string `json:"cgroup_controllers"`
	Rootless    bool     `json:"rootless"`
	// LimitsEnforced says whether agents' memory, CPU and PID limits hold on this host.
	LimitsEnforced bool `json:"limits_enforced"`
}

// Capacity is what the node may hold.
type Capacity struct {
	// CPUs and Memory (bytes) are the host's; 0 when Podman did not say.
	CPUs   int   `json:"cpus"`
	Memory int64 `json:"memory"`
	// MaxAgentLimits are the largest limits one agent may ask for.
	MaxAgentLimits Limits `json:"max_agent_limits"`
	// MaxConcurrency is how many invocations run at once; QueueLength how many may wait.
	MaxConcurrency int `json:"max_concurrency"`
	QueueLength    int `json:"queue_length"`
}

// NodeUse is what the node holds now.
type NodeUse struct {
	// LiveAgents counts agents pending, running or terminating; States per state.
	LiveAgents int           `json:"live_agents"`
	States     map[State]int `json:"states"`
	// Reserved sums the limits of the live agents.
	Reserved Limits `json:"reserved"`
	// WarmContainers counts containers prepared for functions; Pools says per function.
	WarmContainers int        `json:"warm_containers"`
	Pools          []PoolFill `json:"pools"`
}

// PoolFill is how full one function's warm pool is.
type PoolFill struct {
	Function string `json:"function"`
	// Ready counts containers waiting to be taken; Target is the function's warm setting.
	Ready  int `json:"ready"`
	Target int `json:"target"`
}

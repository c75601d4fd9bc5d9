// Package egress is podrun's egress proxy: the one way out of a container
// whose agent or function has an egress allow list. Each such container gets
// a proxy listener of its own, a unix socket in a directory of its own that
// the sandbox bind-mounts into the container, so the proxy knows which agent
// speaks by the socket it accepted on, and two agents with different lists
// see only their own. Inside, podrun's shim forwards 127.0.0.1:3128 to the
// socket, and HTTP_PROXY and HTTPS_PROXY name that address.
//
// The proxy speaks HTTP CONNECT (for HTTPS and any other TCP protocol) and
// plain HTTP proxying (absolute-URI requests). It matches the host name the
// client asked for (the CONNECT authority or the request's host) and the
// port against the allow list (runner.EgressRule), and in a tunnel the TLS
// server name (SNI) against the same list, resolves names itself,
// and refuses a name that resolves to a loopback, private, link-local or
// otherwise non-public address unless an address rule allows that address,
// so an allowed name cannot be pointed at the host's own services. Every
// decision is handed to Config.Record: allowed or denied, the destination,
// and for an allowed one the bytes each way once the connection ends.
//
// The container itself has network "none": a raw connection to any address
// has no route, and there is no resolver to ask. The proxy needs no Podman.
package egress

##! A one-host Zeek cluster under Zeek's own supervisor (`zeek -j`), its workers fed by a pktkit
##! packet source: N workers on one interface through an AF_PACKET fanout group
##! (`pktkit_af_packet::IFACE`), or N workers on one UDP port through SO_REUSEPORT
##! (`pktkit_udp::ADDR:PORT:ENCAP`, fed by pktkit-fwd, which puts a symmetric flow hash in the
##! outer source port so each flow reaches one worker).
##!
##!   zeek -j pktkit-cluster.zeek PktKit::Cluster::interface=pktkit_af_packet::eth0 PktKit::Cluster::workers=4
##!   zeek -j pktkit-cluster.zeek PktKit::Cluster::interface=pktkit_udp::0.0.0.0:4789:vxlan
##!
##! One manager, one logger (logs in <directory>/logger/), no proxy unless asked for, N workers;
##! Zeek's own cluster transport (the backend is whatever the nodes load: ZeroMQ by default
##! here, as in Zeek 8's systemd generator). Every node loads `scripts` (default: local).

module PktKit::Cluster;

export {
	## The packet source every worker opens (any Zeek interface path).
	const interface = "" &redef;
	## Number of workers.
	const workers = 2 &redef;
	## Number of proxies.
	const proxies = 0 &redef;
	## Address the manager, logger and proxies listen on.
	const address = 127.0.0.1 &redef;
	## First listening port; nodes take the following ones.
	const base_port = 27760/tcp &redef;
	## First Prometheus port (0/tcp: no metrics endpoints).
	const base_metrics_port = 0/tcp &redef;
	## Directory under which each node gets its working directory.
	const directory = "." &redef;
	## Scripts every node loads, after the cluster backend.
	const scripts = "local" &redef;
	## Cluster backend script ("" for Zeek's default).
	const backend = "frameworks/cluster/backend/zeromq" &redef;
}

function endpoint(role: Supervisor::ClusterRole, i: count): Supervisor::ClusterEndpoint
	{
	local ep = Supervisor::ClusterEndpoint($role=role, $host=address,
	                                       $p=count_to_port(port_to_count(base_port) + i, tcp));
	if ( base_metrics_port != 0/tcp )
		ep$metrics_port = count_to_port(port_to_count(base_metrics_port) + i, tcp);
	return ep;
	}

event zeek_init()
	{
	if ( ! Supervisor::is_supervisor() )
		return;

	if ( interface == "" )
		{
		Reporter::fatal("PktKit::Cluster::interface is empty (e.g. pktkit_af_packet::eth0)");
		return;
		}

	local cluster: table[string] of Supervisor::ClusterEndpoint;
	local i = 0;
	cluster["manager"] = endpoint(Supervisor::MANAGER, i);
	cluster["logger"] = endpoint(Supervisor::LOGGER, ++i);
	local p = 0;
	while ( p < proxies )
		{
		++p;
		cluster[fmt("proxy-%d", p)] = endpoint(Supervisor::PROXY, ++i);
		}
	local w = 0;
	while ( w < workers )
		{
		++w;
		local ep = endpoint(Supervisor::WORKER, ++i);
		ep$p = 0/tcp;  # workers do not listen
		ep$interface = interface;
		cluster[fmt("worker-%d", w)] = ep;
		}

	local user_scripts: vector of string = vector();
	if ( backend != "" )
		user_scripts += backend;
	for ( _, s in split_string(scripts, / +/) )
		if ( s != "" )
			user_scripts += s;

	for ( name, e in cluster )
		{
		local dir = fmt("%s/%s", directory, name);
		mkdir(dir);
		local nc = Supervisor::NodeConfig($name=name, $directory=dir, $cluster=cluster,
		                                  $addl_user_scripts=user_scripts,
		                                  $stdout_file="stdout.log", $stderr_file="stderr.log");
		if ( e?$interface )
			nc$interface = e$interface;
		local res = Supervisor::create(nc);
		if ( res != "" )
			Reporter::fatal(fmt("supervisor could not create node %s: %s", name, res));
		}
	}

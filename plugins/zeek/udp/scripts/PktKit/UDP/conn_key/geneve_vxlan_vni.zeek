##! geneve+vxlan (AWS GWLB carrying VPC Traffic Mirroring): both VNIs in the connection key,
##! as conn_id$ctx$geneve_vni (outer) and conn_id$ctx$vxlan_vni (inner).

redef record conn_id_ctx += {
	geneve_vni: count &log &optional;
	vxlan_vni: count &log &optional;
};

redef ConnKey::factory = ConnKey::CONNKEY_PKTKIT_UDP_GENEVE_VXLAN_VNI_FIVETUPLE;

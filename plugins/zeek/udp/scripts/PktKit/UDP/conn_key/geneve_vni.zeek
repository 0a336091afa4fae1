##! Adds the GENEVE VNI of each packet (the outer one for geneve+vxlan) to the connection key
##! and to conn_id$ctx$geneve_vni.

redef record conn_id_ctx += {
	geneve_vni: count &log &optional;
};

redef ConnKey::factory = ConnKey::CONNKEY_PKTKIT_UDP_GENEVE_VNI_FIVETUPLE;

##! Adds the VXLAN VNI of each packet (the inner one for geneve+vxlan) to the connection key
##! and to conn_id$ctx$vxlan_vni.

redef record conn_id_ctx += {
	vxlan_vni: count &log &optional;
};

redef ConnKey::factory = ConnKey::CONNKEY_PKTKIT_UDP_VXLAN_VNI_FIVETUPLE;

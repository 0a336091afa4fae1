##! `@load PktKit/AF_Packet` — nothing beyond what the plugin always loads (scripts/__load__.zeek).

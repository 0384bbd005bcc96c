-- Configuration of the talk's failover/service, with the talk's field names, for the
-- namespace topology of tests/topotests (WAN wan0, gateways on 10.10.0.0/24).
return {
    wan = "wan0",
    port = 7070,
    table_id = 100,
    priority = 1000,
    gateways = {"10.10.0.11", "10.10.0.12"},
}

"""The demo lab: one topology description (conf/lab.toml), built as namespaces or as compose."""

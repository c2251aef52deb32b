"""``kcli lab check FILE``: a lab's expectations (TOML), checked against the cluster, for students,
lab scripts and autograders. ``spec`` reads the file, ``checks`` has one function per kind of
expectation, ``runner`` prints the report (or JSON) and picks the exit status; ``exercises/``
holds the lecture's exercises, ready to run by name."""

# Deliberately broken: a scenario that exits 0 having recorded no test.
# timeout: 30
true

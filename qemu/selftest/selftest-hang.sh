# Deliberately broken: a scenario that outlives its limit.
# timeout: 10
sleep 600

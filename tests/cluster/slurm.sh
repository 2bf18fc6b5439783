#!/usr/bin/env bash
# A real single-node Slurm on 127.0.0.1 for the executor tests (issue 30): munged, slurmctld
# and slurmd, no cgroups, no accounting. Run as root, inside the test's network namespace.
#   tests/cluster/slurm.sh start DIR   writes DIR/slurm.conf, starts the daemons, waits for the node
#   tests/cluster/slurm.sh stop DIR    stops what start started
set -euo pipefail
cmd=$1 dir=$(realpath -m "$2")
export SLURM_CONF=$dir/slurm.conf

start() {
  # Slurm's daemons bind with getaddrinfo(AI_ADDRCONFIG), which answers nothing while the
  # namespace has no IPv4 address but loopback: give it one on a veth pair that leads nowhere
  # (both ends stay in the namespace); every Slurm address below is still 127.0.0.1.
  if ! ip -4 -o addr show scope global | grep -q inet; then
    ip link add wb0 type veth peer name wb1
    ip addr add 10.255.255.1/32 dev wb0
    ip link set wb1 up && ip link set wb0 up
  fi
  mkdir -p "$dir/state" "$dir/spool" /run/munge /etc/munge /var/log/munge /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  if ! munge -n >/dev/null 2>&1; then
    runuser -u munge -- munged --pid-file "$dir/munged.pid" 2>/dev/null || munged --force --pid-file "$dir/munged.pid"
  fi
  # The machine's cores: GNU nproc honours OMP_NUM_THREADS, which the test workers set to their
  # share (tests/conftest.py): with it the node offered one slot of two (the contract failed).
  cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
  cat > "$SLURM_CONF" <<CONF
ClusterName=workbench
SlurmctldHost=localhost(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ReturnToService=2
MpiDefault=none
KillWait=10
MinJobAge=600
NodeName=localnode NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=localnode Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld -f "$SLURM_CONF" -i
  slurmd -f "$SLURM_CONF" -N localnode
  for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -q idle; then return 0; fi
    sleep 0.5
  done
  echo "the Slurm node did not come up:" >&2
  sinfo -N >&2 || true
  tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  exit 1
}

stop() {
  scancel --quiet --user=root 2>/dev/null || true
  for name in slurmd slurmctld munged; do
    if [ -s "$dir/$name.pid" ]; then kill "$(cat "$dir/$name.pid")" 2>/dev/null || true; fi
  done
}

"$cmd"

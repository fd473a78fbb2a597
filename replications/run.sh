#!/usr/bin/env sh
# Runs (or continues) every replication, the shortest studies first (rob313's runs take minutes on a 2-core
# CPU, TDT4265's nets and the RDFIA homework's about 20-45 minutes each), on the CIFAR-10 JPEG copy.
# Finished runs are skipped, a stopped one resumes: run it again on any machine to continue where it
# stopped (DATA must be the same path as written in the runs' configs, or the study stops and says so).
# Two runs at a time of one thread each get about a quarter more done than one run on two threads of
# a 2-core CPU; WORKERS sets how many at once.
# Usage, from the repository's root: nice -n 19 sh replications/run.sh [DATA] > replications.log 2>&1 &
set -u
data=${1:-../shared/data/cifar10-jpeg}
for study in rob313 rdfia-tme2 tdt4265 eq2425 rdfia-homework rob313-vgg; do
  cnnlab study "$study" data.source="$data" --out "replications/$study" --workers "${WORKERS:-2}" ||
    echo "study $study stopped: rerun to continue"
done

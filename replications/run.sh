#!/usr/bin/env sh
# Runs (or continues) every replication, the shortest studies first, on the CIFAR-10 JPEG copy.
# Finished runs are skipped, a stopped one resumes: run it again on any machine to continue where it
# stopped. Usage, from the repository's root: nice -n 19 sh replications/run.sh [DATA] > replications.log 2>&1 &
set -u
data=${1:-../shared/data/cifar10-jpeg}
for study in tdt4265 rob313 rdfia-tme2 rdfia-homework eq2425 rob313-vgg; do
  cnnlab study "$study" data.source="$data" --out "replications/$study" || echo "study $study stopped: rerun to continue"
done

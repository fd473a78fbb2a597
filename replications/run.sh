#!/usr/bin/env sh
# Runs (or continues) every replication in the order the project takes them, on the CIFAR-10 JPEG copy.
# Finished runs are skipped, a stopped one resumes: run it again on any machine to continue where it
# stopped. Usage, from the repository's root: nice -n 19 sh replications/run.sh [DATA] > replications.log 2>&1 &
set -u
data=${1:-../shared/data/cifar10-jpeg}
for study in rdfia-homework rdfia-tme2 tdt4265 rob313 rob313-vgg eq2425; do
  cnnlab study "$study" data.source="$data" --out "replications/$study" || echo "study $study stopped: rerun to continue"
done

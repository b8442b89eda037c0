#!/usr/bin/env bash
# Regenerates bench/audio/assess: ten ~5 s flite sentences (4.5-5.5 s with the padding) for the
# assessment-latency benchmark (bench/assess.py), the four voices in turn.
# Needs: apt-get install flite sox. Run from the repository root; output is repeatable (sox -R, no dither).
set -euo pipefail
out=bench/audio/assess
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/index.tsv"

voices=(slt awb rms kal)
i=0
while IFS= read -r line; do
  name=a$i
  voice=${voices[$((i % 4))]}
  flite -voice "$voice" -t "$line" -o "$tmp/raw.wav"
  # Brief silence before and after, as a learner's recording has around the sentence.
  sox -R -D "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$out/$name.wav" pad 0.15 0.25
  printf '%s\t%s\t%s\n' "$name" "$voice" "$line" >> "$tmp/index.tsv"
  i=$((i + 1))
done <<'SENTENCES'
the boy was there when the sun rose and he watched it climb slowly over the distant hills
a rod is used to catch pink salmon in the cold rivers far to the north of the city
the source of the huge river is the clear spring high up in the mountains
kick the ball straight and follow through so that it lands somewhere near the goal posts
help the woman get back to her feet and then please call a doctor right away
a pot of tea helps to pass the evening when the weather outside is wet and cold
smoky fires lack flame and heat so we opened the window to let the air in
the soft cushion broke the man's fall and he stood up again without a single scratch
the salt breeze came across from the sea and cooled all the tired people on the beach
the girl at the booth sold fifty bonds before the market closed late that afternoon
SENTENCES

cp "$tmp/index.tsv" "$out/index.tsv"

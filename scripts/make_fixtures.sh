#!/usr/bin/env bash
# Regenerates the committed test audio: flite voices, converted to 16 kHz mono 16-bit WAV.
# Needs: apt-get install flite sox. Run from the repository root; output is repeatable (sox -R, no dither).
set -euo pipefail
out=tests/fixtures/audio
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() {  # say NAME VOICE "TEXT"
  flite -voice "$2" -t "$3" -o "$tmp/$1.wav"
  sox -R -D "$tmp/$1.wav" -r 16000 -c 1 -b 16 "$out/$1.wav"
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$tmp/index.tsv"
}

say fox_slt slt "the quick brown fox jumps over the lazy dog"
say stella_awb awb "please call stella and ask her to bring these things from the store"
say birch_rms rms "the birch canoe slid on the smooth planks"
say sheet_slt slt "glue the sheet to the dark blue background"
say well_awb awb "it is easy to tell the depth of a well"
say chicken_rms rms "the chicken leg is a rare dish"
say rice_slt slt "rice is often served in round bowls"
say juice_awb awb "the juice of lemons makes fine punch"
say box_rms rms "the box was thrown beside the parked truck"
say hogs_slt slt "the hogs were fed chopped corn and garbage"
say weather_kal kal "the weather today is sunny and warm"
say train_slt slt "i would like a ticket for the morning train"

# Two sentences with a 1.2 s pause between them: two commits in VAD mode.
sox -R -D -n -r 16000 -c 1 -b 16 "$tmp/pause.wav" trim 0 1.2
sox -R -D "$out/fox_slt.wav" "$tmp/pause.wav" "$out/birch_rms.wav" "$out/two_sentences.wav"
printf 'two_sentences\tmixed\tthe quick brown fox jumps over the lazy dog | the birch canoe slid on the smooth planks\n' >> "$tmp/index.tsv"

# Two seconds of silence, and one second of white noise at a low level.
sox -R -D -n -r 16000 -c 1 -b 16 "$out/silence.wav" trim 0 2
sox -R -D -n -r 16000 -c 1 -b 16 "$out/noise.wav" synth 1 whitenoise vol 0.02

cp "$tmp/index.tsv" "$out/index.tsv"

# The accuracy set for `make bench`: 30 more Harvard sentences, the four voices in turn.
bench=bench/audio
mkdir -p "$bench"
: > "$bench/index.tsv"
voices=(slt awb rms kal)
i=0
while IFS= read -r line; do
  voice=${voices[$((i % 4))]}
  flite -voice "$voice" -t "$line" -o "$tmp/raw.wav"
  sox -R -D "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$bench/e$i.wav"
  printf 'e%d\t%s\t%s\n' "$i" "$voice" "$line" >> "$bench/index.tsv"
  i=$((i + 1))
done < "$bench/sentences.txt"

# --- Pronunciation scorer fixtures (tests/providers/test_scorer.py) ---
# The audio differs from the text the tests expect: "cat" where "fox" is expected (a substituted
# word), and "lazy" left out (an omitted word). Not listed in index.tsv: these are not transcription fixtures.
scorer_say() {  # scorer_say NAME VOICE "TEXT"
  flite -voice "$2" -t "$3" -o "$tmp/$1.wav"
  sox -R -D "$tmp/$1.wav" -r 16000 -c 1 -b 16 "$out/$1.wav"
}
scorer_say cat_slt slt "the quick brown cat jumps over the lazy dog"
scorer_say no_lazy_slt slt "the quick brown fox jumps over the dog"

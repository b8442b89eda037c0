// AudioWorklet: microphone float samples at the context's real rate -> 16 kHz PCM16 little-endian,
// posted to the main thread in 100 ms chunks (1600 samples, 3200 bytes), plus a level reading.
const TARGET_RATE = 16000;
const CHUNK_SAMPLES = 1600;
const TAPS = 33; // windowed-sinc low-pass against aliasing when the input rate is higher

function lowPass(inputRate) {
  const cutoff = Math.min(0.45 * TARGET_RATE, 0.45 * inputRate) / inputRate; // cycles per sample
  const kernel = new Float32Array(TAPS);
  const mid = (TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (TAPS - 1));
    kernel[i] = sinc * hann;
    sum += kernel[i];
  }
  for (let i = 0; i < TAPS; i++) kernel[i] /= sum;
  return kernel;
}

class PcmWorklet extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample (global sampleRate)
    this.kernel = this.step > 1 ? lowPass(sampleRate) : null;
    this.history = new Float32Array(TAPS); // last TAPS input samples, for the filter
    this.filtered = [0, 0]; // previous and current filtered sample, for interpolation
    this.phase = 0; // position of the next output sample, in input samples from `filtered[0]`
    this.chunk = new DataView(new ArrayBuffer(CHUNK_SAMPLES * 2));
    this.fill = 0;
    this.levelSum = 0;
    this.levelCount = 0;
    this.port.onmessage = (event) => {
      if (event.data === "flush") this.flush();
    };
  }

  filter(sample) {
    if (!this.kernel) return sample;
    this.history.copyWithin(0, 1);
    this.history[TAPS - 1] = sample;
    let acc = 0;
    for (let i = 0; i < TAPS; i++) acc += this.history[i] * this.kernel[i];
    return acc;
  }

  emit(value) {
    const clamped = Math.max(-1, Math.min(1, value));
    this.chunk.setInt16(this.fill * 2, clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff, true);
    this.fill += 1;
    if (this.fill === CHUNK_SAMPLES) this.post(CHUNK_SAMPLES);
  }

  post(samples) {
    const buffer = this.chunk.buffer.slice(0, samples * 2);
    const level = this.levelCount ? Math.sqrt(this.levelSum / this.levelCount) : 0;
    this.port.postMessage({ pcm: buffer, level }, [buffer]);
    this.fill = 0;
    this.levelSum = 0;
    this.levelCount = 0;
  }

  flush() {
    if (this.fill > 0) this.post(this.fill);
    this.port.postMessage({ flushed: true });
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const sample = channel[i];
      this.levelSum += sample * sample;
      this.levelCount += 1;
      this.filtered[0] = this.filtered[1];
      this.filtered[1] = this.filter(sample);
      // Emit every output sample that falls between the previous and the current input sample.
      while (this.phase <= 1) {
        this.emit(this.filtered[0] + (this.filtered[1] - this.filtered[0]) * this.phase);
        this.phase += this.step;
      }
      this.phase -= 1;
    }
    return true;
  }
}

registerProcessor("pcm-worklet", PcmWorklet);

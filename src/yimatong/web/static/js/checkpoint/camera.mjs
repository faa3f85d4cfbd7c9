// QR codes from the back camera (getUserMedia, continuous) and from photos, read with jsQR.
import jsQR from "../../vendor/jsqr/jsqr.mjs";

const MAX_SIDE = 720; // frames are scaled down to this: enough for a phone's QR, fast to read

function read(canvas, source, width, height, inversion) {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const found = jsQR(image.data, image.width, image.height, { inversionAttempts: inversion });
  return found ? found.data : null;
}

/** The text of the first QR code in an image file, or null. */
export async function decodePhoto(file, canvas) {
  const bitmap = await createImageBitmap(file);
  try {
    return read(canvas, bitmap, bitmap.width, bitmap.height, "attemptBoth");
  } finally {
    bitmap.close();
  }
}

/** Scan continuously from the back camera; ``onCode(text)`` for each code seen. */
export class Camera {
  constructor(video, canvas, onCode) {
    this.video = video;
    this.canvas = canvas;
    this.onCode = onCode;
    this.stream = null;
    this.timer = null;
    this.last = { text: null, at: 0 };
    this.busy = false;
  }
  get running() {
    return this.stream !== null;
  }
  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    this.video.srcObject = this.stream;
    this.video.hidden = false;
    await this.video.play();
    this.timer = setInterval(() => this.tick(), 150);
  }
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    this.video.hidden = true;
  }
  async tick() {
    if (this.busy || this.video.readyState < 2) return;
    const text = read(this.canvas, this.video, this.video.videoWidth, this.video.videoHeight, "dontInvert");
    if (!text) return;
    const now = performance.now();
    if (text === this.last.text && now - this.last.at < 5000) return; // the same code held up
    this.last = { text, at: now };
    this.busy = true;
    try {
      await this.onCode(text);
    } finally {
      this.busy = false;
    }
  }
}

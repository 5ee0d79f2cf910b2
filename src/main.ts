// Page entry: registers the components; the engine itself runs in a worker.
import './ui/app.js';

// Styles shared by the lab and fleet views: page layout, panels, preset buttons, text colours.
import { css } from 'lit';

export const viewStyles = css`
    :host { display: block; padding: 12px 20px 40px; }
    h2 { font-size: 1.5rem; margin: 0 0 2px; }
    h3 { font-size: 1.05rem; margin: 0 0 8px; }
    .sub { color: var(--muted); margin: 0 0 10px; }
    .panel { background: var(--panel); border-radius: 8px; padding: 10px 14px; margin-bottom: 12px; }
    .warn { color: var(--warn); }
    .err { color: var(--err); white-space: pre-wrap; }
    .muted { color: var(--muted); font-size: 0.85rem; }
    .layout { display: grid; grid-template-columns: 300px minmax(0, 1fr); gap: 16px; align-items: start; }
    @media (max-width: 1000px) { .layout { grid-template-columns: minmax(0, 1fr); } }
    .presets { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 6px; }
    .presets button[aria-pressed='true'] { background: var(--accent); color: #001018; border-color: var(--accent); }
    .lesson { font-size: 1.05rem; margin: 6px 0 0; }
    button { font: inherit; background: var(--accent); color: #001018; border: none; border-radius: 6px; font-weight: 600; cursor: pointer; padding: 8px 16px; }
    button.secondary { background: #2a303c; color: var(--text); }
    button[disabled] { opacity: 0.45; cursor: default; }
`;

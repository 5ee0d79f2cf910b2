import { describe, expect, it } from 'vitest';
import {
  GPU_PRICES,
  comparePlatforms,
  costPerMillionAtUtilization,
  costPerMillionTokens,
  costReport,
  demandFromSeries,
  gpuPrice,
  laptopPrice,
  reservedVsPooled,
} from '../../src/econ/cost.js';

describe('cost per 1M tokens', () => {
  it('1 GPU at $2/h serving 1000 tokens/s costs $0.5556 per 1M tokens', () => {
    // 1000 tok/s = 3.6M tok/h; $2 / 3.6 = 0.5556
    expect(costPerMillionTokens(1, 2, 1000)).toBeCloseTo(0.5556, 4);
    expect(costPerMillionTokens(1, 2, 0)).toBe(Infinity);
  });

  it('reports output tokens and all tokens separately', () => {
    const r = costReport({ gpus: 8, dollarsPerGpuHour: 3, outputTokensPerS: 4000, allTokensPerS: 40000 });
    expect(r.dollarsPerHour).toBe(24);
    expect(r.perMillionOutputTokens).toBeCloseTo(24 / 14.4, 12); // 1.6667
    expect(r.perMillionAllTokens).toBeCloseTo(24 / 144, 12); // 0.16667
  });
});

describe('utilization and cost', () => {
  it('cost per token is inversely proportional to utilization', () => {
    const full = costPerMillionAtUtilization(2, 1000, 1);
    expect(full).toBeCloseTo(0.5556, 4);
    expect(costPerMillionAtUtilization(2, 1000, 0.5)).toBeCloseTo(2 * full, 12);
    expect(costPerMillionAtUtilization(2, 1000, 0.25) / full).toBeCloseTo(4, 12);
  });

  it('2x slower but 2x busier costs the same; slower but busier still can be cheaper', () => {
    const r = comparePlatforms([
      { name: 'fast, 30% busy', dollarsPerGpuHour: 2, capacityTokensPerS: 2000, utilization: 0.3 },
      { name: 'half speed, 60% busy', dollarsPerGpuHour: 2, capacityTokensPerS: 1000, utilization: 0.6 },
      { name: 'half speed, 70% busy', dollarsPerGpuHour: 2, capacityTokensPerS: 1000, utilization: 0.7 },
    ]);
    expect(r.map((c) => c.name)).toEqual(['half speed, 70% busy', 'fast, 30% busy', 'half speed, 60% busy']);
    expect(r[0].costPerMillionTokens).toBeCloseTo(2 / 2.52, 12); // 700 tok/s
    expect(r[0].relativeToCheapest).toBe(1);
    expect(r[1].costPerMillionTokens).toBeCloseTo(2 / 2.16, 12); // 600 tok/s
    expect(r[1].relativeToCheapest).toBeCloseTo(7 / 6, 12);
    expect(r[2].costPerMillionTokens).toBeCloseTo(r[1].costPerMillionTokens, 12);
  });
});

describe('reserved vs pooled', () => {
  const tenants = [0, 1, 2, 3].map(() => ({ peakTokensPerS: 1000, meanTokensPerS: 250 }));

  it('pooling sizes for the peak of the sum, not the sum of the peaks', () => {
    const r = reservedVsPooled({ tenants, pooledPeakTokensPerS: 2000, gpuCapacityTokensPerS: 1000, dollarsPerGpuHour: 2 });
    expect(r.reserved).toMatchObject({ gpus: 4, dollarsPerHour: 8, utilization: 0.25, perTenantGpus: [1, 1, 1, 1] });
    expect(r.reserved.costPerMillionTokens).toBeCloseTo(8 / 3.6, 12);
    expect(r.pooled).toMatchObject({ gpus: 2, dollarsPerHour: 4, utilization: 0.5 });
    expect(r.pooled.costPerMillionTokens).toBeCloseTo(4 / 3.6, 12);
    expect(r.savings).toBe(0.5);
  });

  it('headroom (max utilization) rounds up to whole GPUs', () => {
    const r = reservedVsPooled({ tenants, pooledPeakTokensPerS: 2000, gpuCapacityTokensPerS: 1000, dollarsPerGpuHour: 2, maxUtilization: 0.8 });
    expect(r.reserved.gpus).toBe(8); // ceil(1000 / 800) = 2 each
    expect(r.pooled.gpus).toBe(3); // ceil(2000 / 800)
    expect(() => reservedVsPooled({ tenants, pooledPeakTokensPerS: 1, gpuCapacityTokensPerS: 1, dollarsPerGpuHour: 1, maxUtilization: 0 })).toThrow(RangeError);
  });

  it('peaks and means from demand series: anti-correlated tenants pool perfectly', () => {
    const d = demandFromSeries([
      [0, 100, 0, 100],
      [100, 0, 100, 0],
    ], 100);
    expect(d.tenants).toEqual([
      { peakTokensPerS: 100, meanTokensPerS: 50 },
      { peakTokensPerS: 100, meanTokensPerS: 50 },
    ]);
    expect(d.pooledPeakTokensPerS).toBe(100);
    expect(d.pooledMeanTokensPerS).toBe(100);
    expect(() => demandFromSeries([[1, 2], [1]])).toThrow(RangeError);
  });
});

describe('price presets', () => {
  it('cover the common GPUs, each labelled as a dated assumption', () => {
    const ids = GPU_PRICES.map((p) => p.id);
    expect(ids).toEqual(['h100', 'h200', 'a100-80gb', 'a10g', 'l4', 'l40s', 'b200', 'laptop']);
    for (const p of GPU_PRICES) {
      expect(p.assumption).toBe(true);
      expect(p.asOf).toMatch(/2025/);
      expect(p.kind.length).toBeGreaterThan(0);
      expect(p.dollarsPerGpuHour).toBeGreaterThan(0);
      if (p.range) {
        expect(p.range[0]).toBeLessThanOrEqual(p.dollarsPerGpuHour);
        expect(p.range[1]).toBeGreaterThanOrEqual(p.dollarsPerGpuHour);
      }
    }
    expect(gpuPrice('h100').kind).toMatch(/on-demand/);
  });

  it('this laptop takes a user-set price', () => {
    expect(laptopPrice(0.25)).toMatchObject({ id: 'laptop', dollarsPerGpuHour: 0.25, assumption: true });
    expect(() => laptopPrice(-1)).toThrow(RangeError);
  });
});
